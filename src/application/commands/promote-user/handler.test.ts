import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { RefreshTokens } from '../refresh-tokens/command.js';
import { RefreshTokensHandler } from '../refresh-tokens/handler.js';
import { PromoteUser } from './command.js';
import { PromoteUserHandler } from './handler.js';

describeHandler('PromoteUserHandler', (suite) => {
  const promote = (userId: string, reason = '  new on-call admin  ') =>
    new PromoteUserHandler(suite.ctx).handle(PromoteUser({ userId, actor: 'cli:ops', reason }));
  const userRow = (id: string) =>
    suite.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('makes the user an admin and rotates them in one audited transaction: only a later login carries admin', async () => {
    const user = await suite.user({ prefix: 'promote' });
    const before = await suite.login(user);

    const result = await promote(user.id);
    expect(result).toEqual({ ok: true, value: { userId: user.id, minTokenVersion: 2, changed: true } });
    expect(await userRow(user.id)).toMatchObject({ role: 'admin', min_token_version: 2 });
    expect(await suite.audit('user.promoted', user.id)).toMatchObject([
      {
        actor: 'cli:ops',
        reason: 'new on-call admin',
        payload: { role: { from: 'user', to: 'admin' }, previousVersion: 1, newVersion: 2 },
      },
    ]);
    expect(await suite.events('UserPromoted', user.id)).toMatchObject([
      { payload: { reason: 'new on-call admin' } },
    ]);

    const refreshed = await new RefreshTokensHandler(suite.ctx).handle(
      RefreshTokens({ refreshToken: before.refreshToken, userAgent: null, ip: null }),
    );
    expect(refreshed.ok ? 'ok' : refreshed.error.code).toBe('token_rotated');
  });

  it('leaves an admin alone: no second rotation, nothing written', async () => {
    const admin = await suite.user({ prefix: 'promote-admin', role: 'admin' });
    const before = await suite.writes();
    const result = await promote(admin.id);
    expect(result).toEqual({ ok: true, value: { userId: admin.id, minTokenVersion: 1, changed: false } });
    expect((await userRow(admin.id)).min_token_version).toBe(1);
    expect(await suite.writes()).toEqual(before);
  });

  it.each([
    ['an empty reason', '   ', 'validation_failed'],
    ['a reason over 500 characters', 'x'.repeat(501), 'validation_failed'],
    ['a reason with a control character', 'line\nbreak', 'validation_failed'],
  ])('refuses %s as %s and leaves the user as it was', async (_what, reason, code) => {
    const user = await suite.user({ prefix: 'promote-refused' });
    const before = await suite.writes();
    const result = await promote(user.id, reason);
    expect(result.ok ? 'ok' : result.error.code).toBe(code);
    if (!result.ok)
      expect(result.error.extensions.errors).toEqual([expect.objectContaining({ path: '/reason' })]);
    expect(await userRow(user.id)).toMatchObject({ role: 'user', min_token_version: 1 });
    expect(await suite.writes()).toEqual(before);
  });

  it.each([
    ['an unknown id', randomUUID()],
    ['a malformed id', 'admin'],
  ])('answers user_not_found for %s and writes nothing', async (_what, userId) => {
    const before = await suite.writes();
    const result = await promote(userId);
    expect(result.ok ? 'ok' : result.error.code).toBe('user_not_found');
    expect(await suite.writes()).toEqual(before);
  });
});
