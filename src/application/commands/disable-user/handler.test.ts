import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { CreateSession } from '../create-session/command.js';
import { CreateSessionHandler } from '../create-session/handler.js';
import { RefreshTokens } from '../refresh-tokens/command.js';
import { RefreshTokensHandler } from '../refresh-tokens/handler.js';
import { DisableUser } from './command.js';
import { DisableUserHandler } from './handler.js';

describeHandler('DisableUserHandler', (suite) => {
  const disable = (userId: string, reason: string | null = 'account compromised') =>
    new DisableUserHandler(suite.ctx).handle(DisableUser({ userId, actor: 'cli:ops', reason }));
  const disabledAt = async (userId: string) =>
    (
      await suite.db
        .selectFrom('users')
        .select('disabled_at')
        .where('id', '=', userId)
        .executeTakeFirstOrThrow()
    ).disabled_at;

  it('sets disabled_at with its audit row and event; the user can neither refresh nor log in', async () => {
    const user = await suite.user({ prefix: 'disable' });
    const pair = await suite.login(user);
    suite.clock.advance(3);

    const result = await disable(user.id);
    if (!result.ok) throw result.error;
    expect(result.value).toEqual({ userId: user.id, disabledAt: suite.clock.now(), changed: true });
    expect(await disabledAt(user.id)).toEqual(suite.clock.now());
    expect(await suite.audit('user.disabled', user.id)).toMatchObject([
      { actor: 'cli:ops', reason: 'account compromised', occurredAt: suite.clock.now() },
    ]);
    expect(await suite.events('UserDisabled', user.id)).toMatchObject([
      { payload: { actor: 'cli:ops', reason: 'account compromised' } },
    ]);

    const refreshed = await new RefreshTokensHandler(suite.ctx).handle(
      RefreshTokens({ refreshToken: pair.refreshToken, userAgent: null, ip: null }),
    );
    expect(refreshed.ok ? 'ok' : refreshed.error.message).toBe('The user is disabled');
    const login = await new CreateSessionHandler(suite.ctx).handle(
      CreateSession({ email: user.email, password: user.password, userAgent: null, ip: null }),
    );
    expect(login.ok ? 'ok' : login.error.code).toBe('invalid_credentials');
    // No token row is touched: the validity rule refuses them.
    const tokens = await suite.db
      .selectFrom('refresh_tokens')
      .select('revoked_at')
      .where('user_id', '=', user.id)
      .execute();
    expect(tokens.map((t) => t.revoked_at)).toEqual([null]);
  });

  it('is idempotent: disabling again reports the first time and writes nothing', async () => {
    const user = await suite.user({ prefix: 'disable-twice' });
    const first = await disable(user.id);
    if (!first.ok) throw first.error;
    suite.clock.advance(60);
    const before = await suite.writes();

    const again = await disable(user.id, 'again');
    expect(again).toEqual({
      ok: true,
      value: { userId: user.id, disabledAt: first.value.disabledAt, changed: false },
    });
    expect(await disabledAt(user.id)).toEqual(first.value.disabledAt);
    expect(await suite.writes()).toEqual(before);
  });

  it.each([
    ['an unknown id', randomUUID()],
    ['a malformed id', 'not-a-uuid'],
  ])('answers user_not_found for %s and writes nothing', async (_what, userId) => {
    const before = await suite.writes();
    const result = await disable(userId);
    expect(result.ok ? 'ok' : result.error.code).toBe('user_not_found');
    expect(await suite.writes()).toEqual(before);
  });
});
