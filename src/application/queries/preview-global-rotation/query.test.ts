import { expect, it } from 'vitest';
import { describeHandler, type HandlerSuite } from '../../../../test/support/handler-context.js';
import { PreviewGlobalRotationQuery } from './query.js';

const configRow = (suite: HandlerSuite) =>
  suite.db.selectFrom('security_config').selectAll().executeTakeFirstOrThrow();

describeHandler('PreviewGlobalRotationQuery', (suite) => {
  const preview = async (gracePeriodSeconds?: number) => {
    const result = await new PreviewGlobalRotationQuery(suite.ctx).execute({
      reason: 'breach drill',
      ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
    });
    if (!result.ok) throw result.error;
    return result.value;
  };

  it('reports the next version and what would stop working, and changes nothing', async () => {
    const config = await configRow(suite);
    const first = await preview(30);
    expect(first).toMatchObject({
      dryRun: true,
      currentVersion: config.global_min_token_version,
      newVersion: config.global_min_token_version + 1,
      gracePeriodSeconds: 30,
    });
    // One more session with one live token: the counts follow.
    const user = await suite.user({ prefix: 'global-dry-run' });
    await suite.login(user);
    const before = await suite.writes();
    const second = await preview();
    expect(second.gracePeriodSeconds).toBe(config.grace_period_seconds);
    expect(second.activeSessions).toBe(first.activeSessions + 1);
    expect(second.activeRefreshTokens).toBe(first.activeRefreshTokens + 1);
    expect(await configRow(suite)).toEqual(config);
    expect(await suite.writes()).toEqual(before);
  });

  it('refuses what the rotation refuses: a blank reason, a grace period out of range', async () => {
    const query = new PreviewGlobalRotationQuery(suite.ctx);
    const blank = await query.execute({ reason: '   ' });
    expect(blank.ok ? 'ok' : blank.error.code).toBe('validation_failed');
    const tooLong = await query.execute({ reason: 'drill', gracePeriodSeconds: 86_401 });
    expect(tooLong.ok ? 'ok' : tooLong.error.code).toBe('validation_failed');
  });
});
