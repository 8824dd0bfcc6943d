import { afterEach } from 'vitest';
import { RunScheduledRotation } from '../../src/application/commands/run-scheduled-rotation/command.js';
import {
  RunScheduledRotationHandler,
  type ScheduledRotationOutcome,
} from '../../src/application/commands/run-scheduled-rotation/handler.js';
import { UpdateSecurityConfig } from '../../src/application/commands/update-security-config/command.js';
import { UpdateSecurityConfigHandler } from '../../src/application/commands/update-security-config/handler.js';
import type { AppContext } from '../../src/application/context.js';
import type { HandlerSuite, WrittenRow } from './handler-context.js';

export const DAY = 86_400;
export const HOUR = 3_600;

/** What {@link rotationScheduleFixture} gives a suite. */
export type RotationScheduleFixture = ReturnType<typeof rotationScheduleFixture>;

type ScheduleChange = Parameters<typeof UpdateSecurityConfig>[0]['rotationSchedule'];

/**
 * What the rotation-schedule tests share, inside a {@link describeHandler} body: runs
 * of RunScheduledRotation, schedule changes through UpdateSecurityConfig, and what the
 * runs wrote. The suite shares one security config, so it turns the schedule off after
 * every test.
 */
export function rotationScheduleFixture(suite: HandlerSuite) {
  const run = async (ctx: AppContext = suite.ctx): Promise<ScheduledRotationOutcome> => {
    const result = await new RunScheduledRotationHandler(ctx).handle(RunScheduledRotation());
    if (!result.ok) throw result.error;
    return result.value;
  };
  const setSchedule = async (rotationSchedule: ScheduleChange) => {
    const result = await new UpdateSecurityConfigHandler(suite.ctx).handle(
      UpdateSecurityConfig({ actor: 'cli:ops', rotationSchedule }),
    );
    if (!result.ok) throw result.error;
    return result.value;
  };
  const configRow = () => suite.db.selectFrom('security_config').selectAll().executeTakeFirstOrThrow();
  /** The scheduled rotations (audit rows by `system:schedule`) and their notices, oldest first. */
  const scheduled = async (): Promise<Record<'rotations' | 'notices' | 'noticeEvents', WrittenRow[]>> => ({
    rotations: (await suite.audit('token_rotation.global', null)).filter(
      (r) => r.actor === 'system:schedule',
    ),
    notices: await suite.audit('token_rotation.scheduled', null),
    noticeEvents: await suite.events('GlobalTokenRotationScheduled'),
  });
  const counts = async () => {
    const rows = await scheduled();
    return {
      rotations: rows.rotations.length,
      notices: rows.notices.length,
      events: rows.noticeEvents.length,
    };
  };

  afterEach(async () => {
    await setSchedule(null);
  });

  return { run, setSchedule, configRow, scheduled, counts };
}
