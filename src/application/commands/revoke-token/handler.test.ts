import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { RevokeToken } from './command.js';
import { RevokeTokenHandler } from './handler.js';

describeHandler('RevokeTokenHandler', (suite) => {
  const revoke = (token: string) => new RevokeTokenHandler(suite.ctx).handle(RevokeToken({ token }));
  const sessionOf = (id: string) =>
    suite.db
      .selectFrom('sessions')
      .select(['revoked_at', 'revoked_reason'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  it('ends the session of a refresh token, audited as the user with reason token_revocation', async () => {
    const user = await suite.user();
    const pair = await suite.login(user);
    expect(await revoke(pair.refreshToken)).toEqual({ ok: true, value: { revoked: true } });
    expect(await sessionOf(pair.sessionId)).toMatchObject({
      revoked_at: suite.clock.now(),
      revoked_reason: 'token_revocation',
    });
    expect(await suite.audit('session.revoked', user.id)).toMatchObject([
      { actor: user.id, reason: 'token_revocation', payload: { sessionId: pair.sessionId } },
    ]);
  });

  it('ends the session of an access token, and writes nothing the second time', async () => {
    const user = await suite.user();
    const pair = await suite.login(user);
    expect(await revoke(pair.accessToken)).toEqual({ ok: true, value: { revoked: true } });
    const before = await suite.writes();
    expect(await revoke(pair.accessToken)).toEqual({ ok: true, value: { revoked: true } });
    expect(await suite.writes()).toEqual(before);
  });

  it('changes nothing for unknown, malformed or expired tokens', async () => {
    const user = await suite.user();
    const pair = await suite.login(user);
    const before = await suite.writes();
    for (const token of ['twr_unknown', 'junk', 'a.b.c', `${pair.accessToken}x`, '\u0000']) {
      expect(await revoke(token)).toEqual({ ok: true, value: { revoked: false } });
    }
    suite.clock.advance(901);
    expect(await revoke(pair.accessToken)).toEqual({ ok: true, value: { revoked: false } });
    expect(await suite.writes()).toEqual(before);
    expect((await sessionOf(pair.sessionId)).revoked_at).toBeNull();
  });
});
