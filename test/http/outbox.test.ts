import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { USER_PASSWORD, useTestApp } from '../support/test-app.js';

describe.each(testDatabases())('audit rows and outbox events on $name', (target) => {
  const t = useTestApp(target);

  it('every state change leaves an audit row and an outbox event', async () => {
    const admin = await t.adminToken();
    const user = await t.register('events@example.com');
    const a = await t.login('events@example.com');
    const b = await t.login('events@example.com');
    await t.request('DELETE', `/api/v1/sessions/${b.sessionId}`, { token: a.accessToken });
    await t.request('POST', '/api/v1/users/me/password', {
      token: a.accessToken,
      body: { currentPassword: USER_PASSWORD, newPassword: 'another password' },
    });
    await t.request('PATCH', '/api/v1/admin/security/config', {
      token: admin,
      body: { gracePeriodSeconds: 60 },
    });
    await t.request('POST', `/api/v1/admin/users/${user.id}/rotations`, {
      token: admin,
      body: { reason: 'r' },
    });
    await t.request('POST', '/api/v1/admin/security/rotations', { token: admin, body: { reason: 'g' } });

    const events = await t.tw.db.selectFrom('outbox').select(['event_type', 'payload']).execute();
    const types = new Set(events.map((e) => e.event_type));
    for (const type of [
      'UserRegistered',
      'SessionCreated',
      'SessionRevoked',
      'PasswordChanged',
      'SecurityConfigUpdated',
      'UserTokenRotationAttempted',
      'UserTokenRotationSucceeded',
      'GlobalTokenRotationAttempted',
      'GlobalTokenRotationSucceeded',
    ]) {
      expect(types).toContain(type);
    }
    const actions = new Set(
      (await t.tw.db.selectFrom('audit_log').select('action').execute()).map((row) => row.action),
    );
    for (const action of [
      'user.registered',
      'session.created',
      'session.revoked',
      'user.password_changed',
      'security_config.updated',
      'token_rotation.user',
      'token_rotation.global',
    ]) {
      expect(actions).toContain(action);
    }
    const registered = events.find((e) => e.event_type === 'UserRegistered' && e.payload.userId === user.id);
    expect(registered?.payload).toMatchObject({ actor: user.id, role: 'user' });
  });

  it('a rejected request writes nothing', async () => {
    const count = async () => ({
      audit: (await t.tw.db.selectFrom('audit_log').select('id').execute()).length,
      outbox: (await t.tw.db.selectFrom('outbox').select('id').execute()).length,
    });
    const before = await count();
    const admin = await t.adminToken();
    const afterLogin = await count();
    expect(afterLogin.audit).toBe(before.audit + 1);
    await t.request('POST', '/api/v1/admin/security/rotations', { token: admin, body: { reason: '' } });
    await t.request('POST', '/api/v1/users', {
      body: { email: 'events@example.com', password: 'long enough' },
    });
    await t.request('POST', '/api/v1/admin/security/rotations', {
      token: admin,
      body: { reason: 'x', dryRun: true },
    });
    expect(await count()).toEqual(afterLogin);
  });
});
