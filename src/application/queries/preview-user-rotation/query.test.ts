import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { PreviewUserRotationQuery } from './query.js';

describeHandler('PreviewUserRotationQuery', (suite) => {
  const preview = (userId: string, reason = 'account compromised') =>
    new PreviewUserRotationQuery(suite.ctx).execute({ userId, reason });

  it('reports the next version and what would stop working, and changes nothing', async () => {
    const user = await suite.user({ prefix: 'user-rotation-dry-run' });
    await suite.login(user);
    await suite.login(user);
    const before = await suite.writes();
    expect(await preview(user.id)).toEqual({
      ok: true,
      value: {
        dryRun: true,
        userId: user.id,
        currentVersion: 1,
        newVersion: 2,
        activeSessions: 2,
        activeRefreshTokens: 2,
      },
    });
    const row = await suite.db
      .selectFrom('users')
      .select('min_token_version')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.min_token_version).toBe(1);
    expect(await suite.writes()).toEqual(before);
  });

  it('refuses an unknown user and a blank reason', async () => {
    const unknown = await preview(randomUUID());
    expect(unknown.ok ? 'ok' : unknown.error.code).toBe('user_not_found');
    const user = await suite.user({ prefix: 'user-rotation-dry-run-blank' });
    const blank = await preview(user.id, '  ');
    expect(blank.ok ? 'ok' : blank.error.code).toBe('validation_failed');
  });
});
