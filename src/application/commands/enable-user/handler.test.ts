import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { DisableUser } from '../disable-user/command.js';
import { DisableUserHandler } from '../disable-user/handler.js';
import { RefreshTokens } from '../refresh-tokens/command.js';
import { RefreshTokensHandler } from '../refresh-tokens/handler.js';
import { EnableUser } from './command.js';
import { EnableUserHandler } from './handler.js';

describeHandler('EnableUserHandler', (suite) => {
  const enable = (userId: string) =>
    new EnableUserHandler(suite.ctx).handle(
      EnableUser({ userId, actor: 'cli:ops', reason: 'owner verified' }),
    );
  const userRow = (id: string) =>
    suite.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('clears disabled_at and rotates the user, audited: tokens from before stay dead, a new login works', async () => {
    const user = await suite.user({ prefix: 'enable' });
    const pair = await suite.login(user);
    const disabled = await new DisableUserHandler(suite.ctx).handle(
      DisableUser({ userId: user.id, actor: 'cli:ops', reason: 'stolen laptop' }),
    );
    if (!disabled.ok) throw disabled.error;
    suite.clock.advance(10);

    const result = await enable(user.id);
    expect(result).toEqual({ ok: true, value: { userId: user.id, minTokenVersion: 2, changed: true } });
    expect(await userRow(user.id)).toMatchObject({ disabled_at: null, min_token_version: 2 });
    expect(await suite.audit('user.enabled', user.id)).toMatchObject([
      {
        actor: 'cli:ops',
        reason: 'owner verified',
        payload: {
          disabledSince: disabled.value.disabledAt.toISOString(),
          previousVersion: 1,
          newVersion: 2,
        },
      },
    ]);
    expect(await suite.events('UserEnabled', user.id)).toHaveLength(1);

    const refreshed = await new RefreshTokensHandler(suite.ctx).handle(
      RefreshTokens({ refreshToken: pair.refreshToken, userAgent: null, ip: null }),
    );
    expect(refreshed.ok ? 'ok' : refreshed.error.extensions).toEqual({
      rejection: 'user_rotation',
      tokenVersion: 1,
      requiredVersion: 2,
    });
    await expect(suite.login(user)).resolves.toMatchObject({ tokenType: 'Bearer' });
  });

  it('leaves a user who is not disabled alone: no rotation, nothing written', async () => {
    const user = await suite.user({ prefix: 'enable-noop' });
    const before = await suite.writes();
    const result = await enable(user.id);
    expect(result).toEqual({ ok: true, value: { userId: user.id, minTokenVersion: 1, changed: false } });
    expect((await userRow(user.id)).min_token_version).toBe(1);
    expect(await suite.writes()).toEqual(before);
  });

  it.each([
    ['an unknown id', randomUUID()],
    ['a malformed id', 'x'],
  ])('answers user_not_found for %s and writes nothing', async (_what, userId) => {
    const before = await suite.writes();
    const result = await enable(userId);
    expect(result.ok ? 'ok' : result.error.code).toBe('user_not_found');
    expect(await suite.writes()).toEqual(before);
  });
});
