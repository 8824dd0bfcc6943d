import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler, type HandlerSuite } from '../../../../test/support/handler-context.js';
import { CreateSession } from '../create-session/command.js';
import { CreateSessionHandler } from '../create-session/handler.js';
import { RefreshTokens } from '../refresh-tokens/command.js';
import { RefreshTokensHandler } from '../refresh-tokens/handler.js';
import { RevokeSession } from '../revoke-session/command.js';
import { RevokeSessionHandler } from '../revoke-session/handler.js';
import { ChangePassword } from './command.js';
import { ChangePasswordHandler, PASSWORD_CHANGE_REASON } from './handler.js';

const NEW_PASSWORD = 'a brand new passphrase';

const userRow = (suite: HandlerSuite, id: string) =>
  suite.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

const sessionsOf = (suite: HandlerSuite, userId: string) =>
  suite.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();

const tokensOf = (suite: HandlerSuite, userId: string) =>
  suite.db.selectFrom('refresh_tokens').selectAll().where('user_id', '=', userId).execute();

describeHandler('ChangePasswordHandler', (suite) => {
  const change = (fields: Partial<ChangePassword> & Pick<ChangePassword, 'userId' | 'sessionId'>) =>
    new ChangePasswordHandler(suite.ctx).handle(
      ChangePassword({ currentPassword: 'correct horse battery', newPassword: NEW_PASSWORD, ...fields }),
    );

  it('keeps this device in with a pair stamped with the new user version, logs every other device out, and audits both changes', async () => {
    const user = await suite.user({ prefix: 'change' });
    const here = await suite.login(user);
    const elsewhere = await suite.login(user);
    suite.clock.advance(5);
    const before = await userRow(suite, user.id);

    const result = await change({ userId: user.id, sessionId: here.sessionId });
    if (!result.ok) throw result.error;
    expect(result.value.sessionId).toBe(here.sessionId);
    expect(result.value.refreshToken).not.toBe(here.refreshToken);

    const after = await userRow(suite, user.id);
    expect(after.min_token_version).toBe(before.min_token_version + 1);
    expect(after.password_hash).not.toBe(before.password_hash);
    expect(await suite.ctx.hasher.verify(after.password_hash, NEW_PASSWORD)).toBe(true);

    const sessions = await sessionsOf(suite, user.id);
    expect(sessions.find((s) => s.id === here.sessionId)?.revoked_at).toBeNull();
    expect(sessions.find((s) => s.id === elsewhere.sessionId)).toMatchObject({
      revoked_at: suite.clock.now(),
      revoked_reason: PASSWORD_CHANGE_REASON,
    });
    // Only the new token lives, and it carries the new user version.
    const live = (await tokensOf(suite, user.id)).filter((t) => t.revoked_at === null);
    expect(live).toHaveLength(1);
    expect(live[0]).toMatchObject({ session_id: here.sessionId, user_version: after.min_token_version });

    expect(await suite.audit('user.password_changed', user.id)).toMatchObject([
      {
        actor: user.id,
        reason: PASSWORD_CHANGE_REASON,
        payload: { sessionId: here.sessionId, revokedSessions: 1, newVersion: after.min_token_version },
      },
    ]);
    expect(await suite.audit('token_rotation.user', user.id)).toMatchObject([
      { actor: user.id, reason: PASSWORD_CHANGE_REASON, payload: { newVersion: after.min_token_version } },
    ]);
    expect(await suite.events('PasswordChanged', user.id)).toHaveLength(1);
    expect(await suite.events('UserTokenRotationSucceeded', user.id)).toHaveLength(1);
  });

  it('leaves the old refresh tokens dead and only the new password logging in', async () => {
    const user = await suite.user({ prefix: 'change-after' });
    const here = await suite.login(user);
    const elsewhere = await suite.login(user);
    const result = await change({ userId: user.id, sessionId: here.sessionId });
    if (!result.ok) throw result.error;

    const refresh = new RefreshTokensHandler(suite.ctx);
    for (const old of [here.refreshToken, elsewhere.refreshToken]) {
      const refused = await refresh.handle(RefreshTokens({ refreshToken: old, userAgent: null, ip: null }));
      expect(refused.ok ? 'accepted' : refused.error.code).toBe('token_revoked');
    }
    const kept = await refresh.handle(
      RefreshTokens({ refreshToken: result.value.refreshToken, userAgent: null, ip: null }),
    );
    expect(kept.ok).toBe(true);

    const login = (password: string) =>
      new CreateSessionHandler(suite.ctx).handle(
        CreateSession({ email: user.email, password, userAgent: null, ip: null }),
      );
    expect((await login(user.password)).ok).toBe(false);
    expect((await login(NEW_PASSWORD)).ok).toBe(true);
  });

  it.each([
    ['a wrong current password', { currentPassword: 'not the password' }, 'invalid_credentials'],
    ['a new password too short', { newPassword: 'short' }, 'validation_failed'],
  ])('refuses %s and changes nothing', async (_what, fields, code) => {
    const user = await suite.user({ prefix: 'change-refused' });
    const here = await suite.login(user);
    const before = { user: await userRow(suite, user.id), writes: await suite.writes() };

    const result = await change({ userId: user.id, sessionId: here.sessionId, ...fields });
    expect(result.ok ? 'ok' : result.error.code).toBe(code);
    if (!result.ok && code === 'validation_failed') {
      expect(result.error.extensions.errors).toEqual([expect.objectContaining({ path: '/newPassword' })]);
    }
    expect(await userRow(suite, user.id)).toEqual(before.user);
    expect(await suite.writes()).toEqual(before.writes);
    expect((await tokensOf(suite, user.id)).every((t) => t.revoked_at === null)).toBe(true);
  });

  it('refuses an unknown user as invalid_credentials', async () => {
    const before = await suite.writes();
    const result = await change({ userId: randomUUID(), sessionId: randomUUID() });
    expect(result.ok ? 'ok' : result.error.code).toBe('invalid_credentials');
    expect(await suite.writes()).toEqual(before);
  });

  it('refuses a session that has ended as unauthorized, without changing the password', async () => {
    const user = await suite.user({ prefix: 'change-ended' });
    const here = await endedSession(user);
    const before = await userRow(suite, user.id);

    const result = await change({ userId: user.id, sessionId: here.sessionId });
    expect(result.ok ? 'ok' : result.error.code).toBe('unauthorized');
    expect((await userRow(suite, user.id)).password_hash).toBe(before.password_hash);
  });

  // The unit of work commits whatever ran before an err(): the session is checked before any write.
  it('a refused change on an ended session rotates nothing and writes nothing', async () => {
    const user = await suite.user({ prefix: 'change-ended-writes' });
    const here = await endedSession(user);
    const other = await suite.login(user);
    const before = { user: await userRow(suite, user.id), writes: await suite.writes() };

    const result = await change({ userId: user.id, sessionId: here.sessionId });
    expect(result.ok).toBe(false);
    expect((await userRow(suite, user.id)).min_token_version).toBe(before.user.min_token_version);
    const otherToken = (await tokensOf(suite, user.id)).find((t) => t.session_id === other.sessionId);
    expect(otherToken?.revoked_at).toBeNull();
    expect(await suite.writes()).toEqual(before.writes);
  });

  const endedSession = async (user: { id: string; email: string; password: string }) => {
    const session = await suite.login(user);
    const revoked = await new RevokeSessionHandler(suite.ctx).handle(
      RevokeSession({ sessionId: session.sessionId, ownerId: user.id, actor: user.id, reason: 'logout' }),
    );
    if (!revoked.ok) throw revoked.error;
    return session;
  };
});
