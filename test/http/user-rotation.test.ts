import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { USER_PASSWORD, useTestApp } from '../support/test-app.js';

describe.each(testDatabases())('user rotation and password change on $name', (target) => {
  const t = useTestApp(target);
  let admin: string;
  beforeAll(async () => {
    admin = await t.adminToken();
  });

  it("an admin's user rotation rejects that user's refresh and access tokens at once and leaves others alone", async () => {
    const victim = await t.register('victim@example.com');
    await t.register('bystander@example.com');
    const v = await t.login('victim@example.com');
    const b = await t.login('bystander@example.com');

    const res = await t.request('POST', `/api/v1/admin/users/${victim.id}/rotations`, {
      token: admin,
      body: { reason: 'suspicious activity' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ userId: victim.id, previousVersion: 1, newVersion: 2 });

    const refresh = await t.refresh(v.refreshToken);
    expect(refresh.statusCode).toBe(401);
    expect(refresh.json()).toMatchObject({
      code: 'token_rotated',
      rejection: 'user_rotation',
      tokenVersion: 1,
      requiredVersion: 2,
    });
    const me = await t.request('GET', '/api/v1/users/me', { token: v.accessToken });
    expect(me.statusCode).toBe(401);
    expect(me.json()).toMatchObject({ code: 'token_rotated', rejection: 'user_rotation' });

    expect((await t.request('GET', '/api/v1/users/me', { token: b.accessToken })).statusCode).toBe(200);
    expect((await t.refresh(b.refreshToken)).statusCode).toBe(200);

    // The rotated user logs in again and keeps working.
    const again = await t.login('victim@example.com');
    const meAgain = await t.request('GET', '/api/v1/users/me', { token: again.accessToken });
    expect(meAgain.json()).toMatchObject({ id: victim.id, minTokenVersion: 2 });
    const next = await t.refresh(again.refreshToken);
    expect(next.statusCode).toBe(200);
    expect((await t.refresh(next.json().refreshToken)).statusCode).toBe(200);

    const audit = (
      await t.request('GET', `/api/v1/admin/audit?action=token_rotation.user&userId=${victim.id}`, {
        token: admin,
      })
    ).json();
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({ reason: 'suspicious activity', userId: victim.id });
  });

  it('a user rotation has no grace, even with a long global grace period', async () => {
    const u = await t.register('nograce-user@example.com');
    const pair = await t.login('nograce-user@example.com');
    await t.request('PATCH', '/api/v1/admin/security/config', {
      token: admin,
      body: { gracePeriodSeconds: 86_400 },
    });
    await t.request('POST', `/api/v1/admin/users/${u.id}/rotations`, { token: admin, body: { reason: 'r' } });
    expect((await t.refresh(pair.refreshToken)).statusCode).toBe(401);
  });

  it('user rotation dry run changes nothing; unknown and malformed user ids are 404 user_not_found', async () => {
    const u = await t.register('dry@example.com');
    await t.login('dry@example.com');
    await t.login('dry@example.com');
    const dry = await t.request('POST', `/api/v1/admin/users/${u.id}/rotations`, {
      token: admin,
      body: { reason: 'preview', dryRun: true },
    });
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({
      dryRun: true,
      userId: u.id,
      currentVersion: 1,
      newVersion: 2,
      activeSessions: 2,
      activeRefreshTokens: 2,
    });
    const users = (
      await t.request('GET', '/api/v1/admin/users?email=dry@example.com', { token: admin })
    ).json();
    expect(users.items[0].minTokenVersion).toBe(1);

    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const res = await t.request('POST', `/api/v1/admin/users/${id}/rotations`, {
        token: admin,
        body: { reason: 'x' },
      });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'user_not_found' });
    }
  });

  it('log out everywhere: the user rotates their own tokens', async () => {
    await t.register('self@example.com');
    const a = await t.login('self@example.com');
    const b = await t.login('self@example.com');
    // No body at all is fine: the reason is optional.
    const res = await t.request('POST', '/api/v1/users/me/rotations', { token: a.accessToken });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ previousVersion: 1, newVersion: 2 });
    expect((await t.refresh(a.refreshToken)).statusCode).toBe(401);
    expect((await t.refresh(b.refreshToken)).statusCode).toBe(401);
  });

  it('password change: other devices are rejected, this device gets a working pair', async () => {
    await t.register('pw@example.com');
    const laptop = await t.login('pw@example.com');
    const phone = await t.login('pw@example.com');

    const wrong = await t.request('POST', '/api/v1/users/me/password', {
      token: laptop.accessToken,
      body: { currentPassword: 'not it at all', newPassword: 'brand new password' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('invalid_credentials');
    const short = await t.request('POST', '/api/v1/users/me/password', {
      token: laptop.accessToken,
      body: { currentPassword: USER_PASSWORD, newPassword: 'short' },
    });
    expect(short.statusCode).toBe(422);

    const res = await t.request('POST', '/api/v1/users/me/password', {
      token: laptop.accessToken,
      body: { currentPassword: USER_PASSWORD, newPassword: 'brand new password' },
    });
    expect(res.statusCode).toBe(200);
    const pair = res.json();
    expect(pair.sessionId).toBe(laptop.sessionId);

    // Other device: both tokens dead.
    const phoneRefresh = await t.refresh(phone.refreshToken);
    expect(phoneRefresh.statusCode).toBe(401);
    expect((await t.request('GET', '/api/v1/users/me', { token: phone.accessToken })).statusCode).toBe(401);
    // This device: the old pair is dead, the new pair works.
    expect((await t.refresh(laptop.refreshToken)).statusCode).toBe(401);
    expect((await t.request('GET', '/api/v1/users/me', { token: pair.accessToken })).statusCode).toBe(200);
    expect((await t.refresh(pair.refreshToken)).statusCode).toBe(200);

    // The old password no longer logs in, the new one does.
    const old = await t.request('POST', '/api/v1/sessions', {
      body: { email: 'pw@example.com', password: USER_PASSWORD },
    });
    expect(old.statusCode).toBe(401);
    await t.login('pw@example.com', 'brand new password');

    const me = (await t.request('GET', '/api/v1/users/me', { token: pair.accessToken })).json();
    const audit = (
      await t.request('GET', `/api/v1/admin/audit?action=token_rotation.user&userId=${me.id}`, {
        token: admin,
      })
    ).json();
    expect(audit.items[0]).toMatchObject({ reason: 'password_change', actor: me.id });
  });
});
