import { expect, it } from 'vitest';
import { describeHandler, type HandlerSuite } from '../../../../test/support/handler-context.js';
import { TriggerGlobalTokenRotation } from '../trigger-global-token-rotation/command.js';
import { TriggerGlobalTokenRotationHandler } from '../trigger-global-token-rotation/handler.js';
import { UpdateSecurityConfig } from './command.js';
import { UpdateSecurityConfigHandler } from './handler.js';

const configRow = (suite: HandlerSuite) =>
  suite.db.selectFrom('security_config').selectAll().executeTakeFirstOrThrow();

describeHandler('UpdateSecurityConfigHandler', (suite) => {
  const update = (gracePeriodSeconds: number) =>
    new UpdateSecurityConfigHandler(suite.ctx).handle(
      UpdateSecurityConfig({ gracePeriodSeconds, actor: 'cli:ops' }),
    );

  it('sets the default grace period, audited with from and to, and the next global rotation uses it', async () => {
    const before = await configRow(suite);
    suite.clock.advance(1);
    const result = await update(45);
    if (!result.ok) throw result.error;
    expect(result.value).toMatchObject({
      gracePeriodSeconds: 45,
      globalMinTokenVersion: before.global_min_token_version,
      updatedAt: suite.clock.now(),
    });
    expect(await configRow(suite)).toMatchObject({
      grace_period_seconds: 45,
      global_min_token_version: before.global_min_token_version,
    });
    expect(await suite.audit('security_config.updated', null)).toMatchObject([
      { actor: 'cli:ops', payload: { gracePeriodSeconds: { from: before.grace_period_seconds, to: 45 } } },
    ]);
    expect(await suite.events('SecurityConfigUpdated')).toMatchObject([
      { payload: { actor: 'cli:ops', gracePeriodSeconds: { from: before.grace_period_seconds, to: 45 } } },
    ]);

    const rotation = await new TriggerGlobalTokenRotationHandler(suite.ctx).handle(
      TriggerGlobalTokenRotation({ triggeredBy: 'cli:ops', reason: 'uses the new default' }),
    );
    if (!rotation.ok || 'dryRun' in rotation.value) throw new Error('rotation failed');
    expect(rotation.value.gracePeriodSeconds).toBe(45);
    expect(rotation.value.graceUntil).toEqual(new Date(suite.clock.now().getTime() + 45_000));
  });

  it.each([0, 86_400])('accepts the bound %i', async (seconds) => {
    const result = await update(seconds);
    expect(result.ok ? result.value.gracePeriodSeconds : result.error.code).toBe(seconds);
    expect((await configRow(suite)).grace_period_seconds).toBe(seconds);
  });

  it.each([-1, 86_401, 1.5, Number.NaN])(
    'refuses %d as validation_failed, changing nothing',
    async (seconds) => {
      const config = await configRow(suite);
      const before = await suite.writes();
      const result = await update(seconds);
      expect(result.ok ? 'ok' : result.error.code).toBe('validation_failed');
      if (!result.ok) {
        expect(result.error.extensions.errors).toEqual([
          expect.objectContaining({ path: '/gracePeriodSeconds' }),
        ]);
      }
      expect(await configRow(suite)).toEqual(config);
      expect(await suite.writes()).toEqual(before);
    },
  );
});
