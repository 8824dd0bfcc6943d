import { describe, expect, it } from 'vitest';
import { DisableUser } from '../../src/application/commands/disable-user/command.js';
import { EnableUser } from '../../src/application/commands/enable-user/command.js';
import { testDatabases } from '../support/databases.js';
import { okValue } from '../support/result.js';
import { USER_PASSWORD, useTestApp } from '../support/test-app.js';

describe.each(testDatabases())('disabling a user on $name', (target) => {
  const t = useTestApp(target);

  it('refuses their refresh and access tokens and their login, and leaves others alone', async () => {
    const alice = await t.register('disabled-alice@example.com');
    await t.register('still-bob@example.com');
    const pair = await t.login(alice.email);
    const bob = await t.login('still-bob@example.com');

    const disabled = await t.tw.services.disableUser.handle(
      DisableUser({ userId: alice.id, actor: 'cli:operator', reason: 'account compromised' }),
    );
    expect(disabled).toMatchObject({ ok: true, value: { userId: alice.id, changed: true } });

    const refresh = await t.refresh(pair.refreshToken);
    expect(refresh.statusCode).toBe(401);
    expect(refresh.json()).toMatchObject({ code: 'token_revoked' });
    const me = await t.request('GET', '/api/v1/users/me', { token: pair.accessToken });
    expect(me.statusCode).toBe(401);
    const login = await t.request('POST', '/api/v1/sessions', {
      body: { email: alice.email, password: USER_PASSWORD },
    });
    expect(login.statusCode).toBe(401);
    expect(login.json()).toMatchObject({ code: 'invalid_credentials' });

    expect((await t.refresh(bob.refreshToken)).statusCode).toBe(200);
  });

  it('audits once, with an outbox event, and is idempotent', async () => {
    const carol = await t.register('disabled-carol@example.com');
    const command = DisableUser({ userId: carol.id, actor: 'cli:operator', reason: null });
    const first = await t.tw.services.disableUser.handle(command);
    const again = await t.tw.services.disableUser.handle(command);
    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.value).toEqual({ userId: carol.id, disabledAt: first.value.disabledAt, changed: false });

    const audit = okValue(
      await t.tw.services.listAuditEvents.execute({
        action: 'user.disabled',
        userId: carol.id,
        limit: 10,
      }),
    );
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({ actor: 'cli:operator', userId: carol.id });
    const events = await t.tw.db
      .selectFrom('outbox')
      .select('payload')
      .where('event_type', '=', 'UserDisabled')
      .execute();
    expect(events.filter((e) => (e.payload as { userId?: string }).userId === carol.id)).toHaveLength(1);
  });

  it('answers user_not_found for an unknown id', async () => {
    const outcome = await t.tw.services.disableUser.handle(
      DisableUser({ userId: '00000000-0000-4000-8000-000000000000', actor: 'cli:operator', reason: null }),
    );
    expect(outcome).toMatchObject({ ok: false, error: { code: 'user_not_found' } });
  });

  it('enabling again lets the user log in afresh, while every token from before stays dead', async () => {
    const dave = await t.register('enabled-dave@example.com');
    const stolen = await t.login(dave.email);
    await t.tw.services.disableUser.handle(
      DisableUser({ userId: dave.id, actor: 'cli:operator', reason: 'phished' }),
    );

    const enabled = await t.tw.services.enableUser.handle(
      EnableUser({ userId: dave.id, actor: 'cli:operator', reason: 'owner verified' }),
    );
    expect(enabled).toMatchObject({
      ok: true,
      value: { userId: dave.id, changed: true, minTokenVersion: 2 },
    });
    const again = await t.tw.services.enableUser.handle(
      EnableUser({ userId: dave.id, actor: 'cli:operator', reason: null }),
    );
    expect(again).toMatchObject({ ok: true, value: { changed: false } });

    // What was taken before the disable does not come back with the account.
    const refresh = await t.refresh(stolen.refreshToken);
    expect(refresh.statusCode).toBe(401);
    expect(refresh.json()).toMatchObject({ code: 'token_rotated', rejection: 'user_rotation' });
    expect((await t.request('GET', '/api/v1/users/me', { token: stolen.accessToken })).statusCode).toBe(401);

    const fresh = await t.login(dave.email);
    expect((await t.refresh(fresh.refreshToken)).statusCode).toBe(200);
    const audit = okValue(
      await t.tw.services.listAuditEvents.execute({
        action: 'user.enabled',
        userId: dave.id,
        limit: 10,
      }),
    );
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({ actor: 'cli:operator', reason: 'owner verified' });
  });
});
