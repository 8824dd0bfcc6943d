import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler, failingAt, type HandlerSuite } from '../../../../test/support/handler-context.js';
import { RefreshTokens } from '../refresh-tokens/command.js';
import { RefreshTokensHandler } from '../refresh-tokens/handler.js';
import { TriggerUserTokenRotation } from './command.js';
import { TriggerUserTokenRotationHandler } from './handler.js';

const versionOf = async (suite: HandlerSuite, userId: string) =>
  (
    await suite.db
      .selectFrom('users')
      .select('min_token_version')
      .where('id', '=', userId)
      .executeTakeFirstOrThrow()
  ).min_token_version;

describeHandler('TriggerUserTokenRotationHandler', (suite) => {
  const trigger = (
    fields: Partial<TriggerUserTokenRotation> & Pick<TriggerUserTokenRotation, 'userId'>,
    ctx = suite.ctx,
  ) =>
    new TriggerUserTokenRotationHandler(ctx).handle(
      TriggerUserTokenRotation({ triggeredBy: 'cli:ops', reason: ' phished ', ...fields }),
    );
  const refresh = (refreshToken: string) =>
    new RefreshTokensHandler(suite.ctx).handle(RefreshTokens({ refreshToken, userAgent: null, ip: null }));

  it("increments the user's version at once, audited: their tokens die without grace, a new login works, others are untouched", async () => {
    const user = await suite.user({ prefix: 'user-rotation' });
    const pair = await suite.login(user);
    const bystander = await suite.user({ prefix: 'user-rotation-bystander' });
    const theirs = await suite.login(bystander);
    suite.clock.advance(1);
    const now = suite.clock.now();

    const result = await trigger({ userId: user.id });
    expect(result).toEqual({
      ok: true,
      value: { userId: user.id, previousVersion: 1, newVersion: 2, rotatedAt: now },
    });
    expect(await versionOf(suite, user.id)).toBe(2);
    expect(await suite.audit('token_rotation.user', user.id)).toMatchObject([
      {
        actor: 'cli:ops',
        reason: 'phished',
        payload: { previousVersion: 1, newVersion: 2 },
        occurredAt: now,
      },
    ]);
    expect(await suite.events('UserTokenRotationAttempted', user.id)).toMatchObject([
      { payload: { triggeredBy: 'cli:ops', reason: 'phished' } },
    ]);
    expect(await suite.events('UserTokenRotationSucceeded', user.id)).toMatchObject([
      { payload: { previousVersion: 1, newVersion: 2, rotatedAt: now.toISOString() } },
    ]);

    const refused = await refresh(pair.refreshToken);
    expect(refused.ok ? 'ok' : refused.error.extensions).toEqual({
      rejection: 'user_rotation',
      tokenVersion: 1,
      requiredVersion: 2,
    });
    const again = await refresh((await suite.login(user)).refreshToken);
    expect(again.ok).toBe(true);
    expect(await versionOf(suite, bystander.id)).toBe(1);
    expect((await refresh(theirs.refreshToken)).ok).toBe(true);
  });

  it('increments again on a second rotation', async () => {
    const user = await suite.user({ prefix: 'user-rotation-twice' });
    await trigger({ userId: user.id });
    const second = await trigger({ userId: user.id, reason: 'again' });
    expect(second).toMatchObject({ ok: true, value: { previousVersion: 2, newVersion: 3 } });
    expect(await versionOf(suite, user.id)).toBe(3);
  });

  it.each([
    ['an unknown user', () => randomUUID(), 'user_not_found'],
    ['a malformed user id', () => 'not-a-uuid', 'user_not_found'],
    ['an empty reason', null, 'validation_failed'],
  ])('refuses %s as %s, writing nothing', async (_what, id, code) => {
    const user = await suite.user({ prefix: 'user-rotation-refused' });
    const before = await suite.writes();
    const result = await trigger(id === null ? { userId: user.id, reason: '' } : { userId: id() });
    expect(result.ok ? 'ok' : result.error.code).toBe(code);
    expect(await suite.writes()).toEqual(before);
    expect(await versionOf(suite, user.id)).toBe(1);
  });

  it('when the transaction fails, records the failure on its own and rethrows, the version unchanged', async () => {
    const user = await suite.user({ prefix: 'user-rotation-failure' });
    const failure = new Error('deadlock detected, retries exhausted');
    await expect(
      trigger({ userId: user.id }, failingAt(suite.ctx, 'users', 'incrementMinTokenVersion', failure)),
    ).rejects.toBe(failure);

    expect(await versionOf(suite, user.id)).toBe(1);
    expect(await suite.audit('token_rotation.user', user.id)).toEqual([]);
    expect(await suite.events('UserTokenRotationSucceeded', user.id)).toEqual([]);
    expect(await suite.audit('token_rotation.user_failed', user.id)).toMatchObject([
      { actor: 'cli:ops', reason: 'phished', payload: { error: failure.message } },
    ]);
    expect(await suite.events('UserTokenRotationFailed', user.id)).toMatchObject([
      { payload: { triggeredBy: 'cli:ops', error: failure.message } },
    ]);
  });
});
