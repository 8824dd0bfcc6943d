import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { okValue } from '../support/result.js';
import { USER_PASSWORD, useTestApp } from '../support/test-app.js';

/**
 * Incident response over HTTP, as an admin: disable and enable an account, log out one
 * session or every session of any user. The same handlers as the CLI, audited with the
 * admin's id as the actor, effective at the next request.
 */
describe.each(testDatabases())('admin incident routes on $name', (target) => {
  const t = useTestApp(target);

  const auditOf = async (action: string, userId: string) =>
    okValue(await t.tw.services.listAuditEvents.execute({ action, userId, limit: 10 })).items;

  it('disables an account: its tokens and logins are refused at once; enabling rotates it', async () => {
    const admin = await t.adminToken();
    const adminId = (await t.request('GET', '/api/v1/users/me', { token: admin })).json().id as string;
    const mallory = await t.register('incident-mallory@example.com');
    const pair = await t.login(mallory.email);

    const disabled = await t.request('POST', `/api/v1/admin/users/${mallory.id}/disable`, {
      token: admin,
      body: { reason: 'suspicious activity' },
    });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json()).toMatchObject({ id: mallory.id, email: mallory.email });
    expect(disabled.json().disabledAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await t.request('GET', '/api/v1/users/me', { token: pair.accessToken })).statusCode).toBe(401);
    expect((await t.refresh(pair.refreshToken)).statusCode).toBe(401);
    const login = await t.request('POST', '/api/v1/sessions', {
      body: { email: mallory.email, password: USER_PASSWORD },
    });
    expect(login.statusCode).toBe(401);
    expect(await auditOf('user.disabled', mallory.id)).toEqual([
      expect.objectContaining({ actor: adminId, reason: 'suspicious activity' }),
    ]);

    // Again, with no body at all (the reason is optional): nothing changes, nothing more is audited.
    expect(
      (await t.request('POST', `/api/v1/admin/users/${mallory.id}/disable`, { token: admin })).statusCode,
    ).toBe(200);
    expect(await auditOf('user.disabled', mallory.id)).toHaveLength(1);

    const enabled = await t.request('POST', `/api/v1/admin/users/${mallory.id}/enable`, {
      token: admin,
      body: { reason: 'owner verified' },
    });
    expect(enabled.statusCode).toBe(200);
    expect(enabled.json()).toMatchObject({ id: mallory.id, disabledAt: null });
    expect(enabled.json().minTokenVersion).toBeGreaterThan(disabled.json().minTokenVersion);
    // Tokens from before stay dead; a fresh login works.
    expect((await t.refresh(pair.refreshToken)).statusCode).toBe(401);
    expect((await t.request('GET', '/api/v1/users/me', { token: pair.accessToken })).statusCode).toBe(401);
    await t.login(mallory.email);
    expect(await auditOf('user.enabled', mallory.id)).toEqual([
      expect.objectContaining({ actor: adminId, reason: 'owner verified' }),
    ]);
  });

  it('logs out one session of a user, and every session of a user', async () => {
    const admin = await t.adminToken();
    const victim = await t.register('incident-victim@example.com');
    const first = await t.login(victim.email);
    const second = await t.login(victim.email);
    const third = await t.login(victim.email);

    const one = await t.request(
      'POST',
      `/api/v1/admin/users/${victim.id}/sessions/${first.sessionId}/revocation`,
      { token: admin, body: { reason: 'stolen laptop' } },
    );
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ sessionId: first.sessionId, revokedTokens: 1 });
    expect((await t.refresh(first.refreshToken)).statusCode).toBe(401);
    expect((await t.request('GET', '/api/v1/users/me', { token: first.accessToken })).statusCode).toBe(401);
    expect((await t.refresh(second.refreshToken)).statusCode).toBe(200);

    const all = await t.request('POST', `/api/v1/admin/users/${victim.id}/sessions/revocation`, {
      token: admin,
      body: {},
    });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({ userId: victim.id, revokedSessions: 2 });
    expect((await t.request('GET', '/api/v1/users/me', { token: third.accessToken })).statusCode).toBe(401);
    const sessions = await t.request('GET', `/api/v1/admin/users/${victim.id}/sessions`, { token: admin });
    expect(sessions.json().items).toEqual([]);
    expect(await auditOf('session.revoked', victim.id)).toEqual([
      expect.objectContaining({ reason: 'stolen laptop' }),
    ]);
    expect(await auditOf('session.revoked_all', victim.id)).toEqual([
      expect.objectContaining({ reason: 'revoked_by_operator' }),
    ]);
  });

  it('answers 404 for another user’s session or an unknown user, and 422 for a bad reason', async () => {
    const admin = await t.adminToken();
    const owner = await t.register('incident-owner@example.com');
    const other = await t.register('incident-other@example.com');
    const pair = await t.login(owner.email);
    const wrongOwner = await t.request(
      'POST',
      `/api/v1/admin/users/${other.id}/sessions/${pair.sessionId}/revocation`,
      { token: admin, body: {} },
    );
    expect(wrongOwner.statusCode).toBe(404);
    expect((await t.refresh(pair.refreshToken)).statusCode).toBe(200);

    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const path of [
      `users/${unknown}/disable`,
      `users/${unknown}/enable`,
      `users/${unknown}/sessions/revocation`,
    ]) {
      const answer = await t.request('POST', `/api/v1/admin/${path}`, { token: admin, body: {} });
      expect(answer.statusCode, path).toBe(404);
      expect(answer.headers['content-type']).toContain('application/problem+json');
    }
    const bidi = await t.request('POST', `/api/v1/admin/users/${owner.id}/disable`, {
      token: admin,
      body: { reason: 'evil \u202e text' },
    });
    expect(bidi.statusCode).toBe(422);
    const extra = await t.request('POST', `/api/v1/admin/users/${owner.id}/disable`, {
      token: admin,
      body: { reason: 'x', actor: 'someone-else' },
    });
    expect(extra.statusCode).toBe(422);
    // Nothing happened to the owner.
    expect(
      (await t.request('GET', '/api/v1/users/me', { token: (await t.login(owner.email)).accessToken }))
        .statusCode,
    ).toBe(200);
  });
});

describe('the webhook setup an admin sees', () => {
  const none = useTestApp(testDatabases()[0]!);
  const two = useTestApp(testDatabases()[0]!, {
    TOKENWARDEN_WEBHOOK_URLS: 'https://a.example.com/hook,https://b.example.com/hook',
    TOKENWARDEN_WEBHOOK_SECRET: 'a-webhook-secret-of-some-length',
  });

  it('says how many receivers are configured (none: events wait in the outbox)', async () => {
    const asked = async (t: typeof none) =>
      (await t.request('GET', '/api/v1/admin/webhooks', { token: await t.adminToken() })).json();
    expect(await asked(none)).toEqual({ receivers: 0 });
    expect(await asked(two)).toEqual({ receivers: 2 });
  });
});
