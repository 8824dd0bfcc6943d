import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { RefreshTokens } from '../refresh-tokens/command.js';
import { RefreshTokensHandler } from '../refresh-tokens/handler.js';
import { RevokeSession } from './command.js';
import { RevokeSessionHandler } from './handler.js';

describeHandler('RevokeSessionHandler', (suite) => {
  const revoke = (sessionId: string, ownerId: string | null, actor = 'cli:ops') =>
    new RevokeSessionHandler(suite.ctx).handle(
      RevokeSession({ sessionId, ownerId, actor, reason: 'logout' }),
    );
  const refresh = (refreshToken: string) =>
    new RefreshTokensHandler(suite.ctx).handle(RefreshTokens({ refreshToken, userAgent: null, ip: null }));

  it('revokes the session and every token of its family, audited; the other sessions live on', async () => {
    const user = await suite.user({ prefix: 'revoke' });
    const pair = await suite.login(user);
    const other = await suite.login(user);
    const next = await refresh(pair.refreshToken);
    if (!next.ok) throw next.error;
    suite.clock.advance(2);

    const result = await revoke(pair.sessionId, user.id, user.id);
    expect(result).toEqual({ ok: true, value: { revokedTokens: 2 } });
    const session = await suite.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', pair.sessionId)
      .executeTakeFirstOrThrow();
    expect(session).toMatchObject({ revoked_at: suite.clock.now(), revoked_reason: 'logout' });
    const tokens = await suite.db
      .selectFrom('refresh_tokens')
      .select(['session_id', 'revoked_at'])
      .where('user_id', '=', user.id)
      .execute();
    for (const token of tokens) {
      expect(token.revoked_at === null).toBe(token.session_id === other.sessionId);
    }
    expect(await suite.audit('session.revoked', user.id)).toMatchObject([
      { actor: user.id, reason: 'logout', payload: { sessionId: pair.sessionId, revokedTokens: 2 } },
    ]);
    expect(await suite.events('SessionRevoked', user.id)).toHaveLength(1);
    const refused = await refresh(next.value.refreshToken);
    expect(refused.ok ? 'ok' : refused.error.code).toBe('token_revoked');
    expect((await refresh(other.refreshToken)).ok).toBe(true);
  });

  it('revokes for an admin (no owner given), and a second revoke writes nothing', async () => {
    const user = await suite.user({ prefix: 'revoke-admin' });
    const pair = await suite.login(user);
    expect(await revoke(pair.sessionId, null)).toEqual({ ok: true, value: { revokedTokens: 1 } });
    const before = await suite.writes();
    expect(await revoke(pair.sessionId, null)).toEqual({ ok: true, value: { revokedTokens: 0 } });
    expect(await suite.writes()).toEqual(before);
    expect(await suite.audit('session.revoked', user.id)).toHaveLength(1);
  });

  it.each([
    ['another user', 'owner'],
    ['an unknown session', 'unknown'],
    ['a malformed id', 'malformed'],
  ])('answers session_not_found for %s, changing nothing', async (_what, kind) => {
    const owner = await suite.user({ prefix: 'revoke-owner' });
    const pair = await suite.login(owner);
    const stranger = await suite.user({ prefix: 'revoke-stranger' });
    const [sessionId, ownerId] =
      kind === 'owner'
        ? [pair.sessionId, stranger.id]
        : kind === 'unknown'
          ? [randomUUID(), owner.id]
          : ['session-1', owner.id];
    const before = await suite.writes();
    const result = await revoke(sessionId, ownerId);
    expect(result.ok ? 'ok' : result.error.code).toBe('session_not_found');
    expect(await suite.writes()).toEqual(before);
    const session = await suite.db
      .selectFrom('sessions')
      .select('revoked_at')
      .where('id', '=', pair.sessionId)
      .executeTakeFirstOrThrow();
    expect(session.revoked_at).toBeNull();
  });
});
