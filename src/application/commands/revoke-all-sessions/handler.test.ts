import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler, type HandlerSuite } from '../../../../test/support/handler-context.js';
import { RevokeAllSessions } from './command.js';
import { RevokeAllSessionsHandler } from './handler.js';

const liveSessions = async (suite: HandlerSuite, userId: string) =>
  (
    await suite.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute()
  ).map((row) => row.id);

const liveTokenSessions = async (suite: HandlerSuite, userId: string) =>
  (
    await suite.db
      .selectFrom('refresh_tokens')
      .select('session_id')
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute()
  ).map((row) => row.session_id);

describeHandler('RevokeAllSessionsHandler', (suite) => {
  const revokeAll = (userId: string, exceptSessionId?: string) =>
    new RevokeAllSessionsHandler(suite.ctx).handle(
      RevokeAllSessions({ userId, actor: 'cli:ops', reason: 'lost phone', exceptSessionId }),
    );

  it('revokes every session and token of the user but the one kept, audited; other users keep theirs', async () => {
    const user = await suite.user({ prefix: 'revoke-all' });
    const kept = await suite.login(user);
    await suite.login(user);
    await suite.login(user);
    const bystander = await suite.user({ prefix: 'revoke-all-bystander' });
    const theirs = await suite.login(bystander);

    const result = await revokeAll(user.id, kept.sessionId);
    expect(result).toEqual({ ok: true, value: { revokedSessions: 2 } });
    expect(await liveSessions(suite, user.id)).toEqual([kept.sessionId]);
    expect(await liveTokenSessions(suite, user.id)).toEqual([kept.sessionId]);
    expect(await liveSessions(suite, bystander.id)).toEqual([theirs.sessionId]);
    expect(await suite.audit('session.revoked_all', user.id)).toMatchObject([
      {
        actor: 'cli:ops',
        reason: 'lost phone',
        payload: { revokedSessions: 2, exceptSessionId: kept.sessionId },
      },
    ]);
    expect(await suite.events('AllSessionsRevoked', user.id)).toHaveLength(1);
  });

  it('revokes all of them when no session is kept', async () => {
    const user = await suite.user({ prefix: 'revoke-all-none-kept' });
    await suite.login(user);
    expect(await revokeAll(user.id)).toEqual({ ok: true, value: { revokedSessions: 1 } });
    expect(await liveSessions(suite, user.id)).toEqual([]);
    expect(await liveTokenSessions(suite, user.id)).toEqual([]);
  });

  it.each([
    ['an unknown id', randomUUID()],
    ['a malformed id', 'me'],
  ])('answers user_not_found for %s, writing nothing', async (_what, userId) => {
    const before = await suite.writes();
    const result = await revokeAll(userId);
    expect(result.ok ? 'ok' : result.error.code).toBe('user_not_found');
    expect(await suite.writes()).toEqual(before);
  });
});
