import { validationError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import {
  type RotationSchedule,
  type RotationScheduleSettings,
  resolveScheduleSettings,
  type SecurityConfigView,
  scheduleSummary,
} from '../../../domain/rotation-schedule.js';
import { isValidGracePeriod, MAX_GRACE_PERIOD_SECONDS } from '../../../domain/versions.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import type { Repositories } from '../../ports/repositories.js';
import type { UpdateSecurityConfig } from './command.js';

/** A schedule as the audit trail records it (null = off). */
const summary = (schedule: RotationSchedule | null) => (schedule === null ? null : scheduleSummary(schedule));

export class UpdateSecurityConfigHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: UpdateSecurityConfig): Promise<Result<SecurityConfigView>> {
    if (command.gracePeriodSeconds === undefined && command.rotationSchedule === undefined) {
      return err(
        validationError(
          [{ path: '', message: 'must change gracePeriodSeconds, rotationSchedule or both' }],
          'Nothing to change',
        ),
      );
    }
    if (command.gracePeriodSeconds !== undefined && !isValidGracePeriod(command.gracePeriodSeconds)) {
      return err(
        validationError([
          {
            path: '/gracePeriodSeconds',
            message: `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}`,
          },
        ]),
      );
    }
    return this.ctx.uow.run(async (repos) => {
      const now = this.ctx.clock.now();
      const before = await repos.securityConfig.get('update');
      const scheduleBefore = await repos.securityConfig.getSchedule();
      const settings =
        command.rotationSchedule === undefined || command.rotationSchedule === null
          ? ok(null)
          : resolveScheduleSettings(command.rotationSchedule, scheduleBefore);
      if (!settings.ok) return settings;

      const after =
        command.gracePeriodSeconds === undefined
          ? before
          : await repos.securityConfig.setGracePeriod(command.gracePeriodSeconds, now);
      const scheduleAfter =
        command.rotationSchedule === undefined
          ? scheduleBefore
          : await this.setSchedule(repos, scheduleBefore, settings.value, now);
      await recordChange(this.ctx, repos, EventType.SecurityConfigUpdated, {
        occurredAt: now,
        actor: command.actor,
        action: AuditAction.SecurityConfigUpdated,
        userId: null,
        reason: null,
        details: {
          ...(command.gracePeriodSeconds === undefined
            ? {}
            : { gracePeriodSeconds: { from: before.gracePeriodSeconds, to: after.gracePeriodSeconds } }),
          ...(command.rotationSchedule === undefined
            ? {}
            : { rotationSchedule: { from: summary(scheduleBefore), to: summary(scheduleAfter) } }),
        },
      });
      return ok({ ...after, updatedAt: now, rotationSchedule: scheduleAfter });
    });
  }

  /**
   * A new interval (or turning it on) starts the count from now; changing only the
   * grace, reason or lead time keeps the due time, and a notice already written for it.
   */
  private setSchedule(
    repos: Repositories,
    current: RotationSchedule | null,
    settings: RotationScheduleSettings | null,
    now: Date,
  ): Promise<RotationSchedule | null> {
    if (settings === null) return repos.securityConfig.setSchedule(null, now);
    const keep = current !== null && current.intervalSeconds === settings.intervalSeconds;
    const nextDueAt = keep ? current.nextDueAt : new Date(now.getTime() + settings.intervalSeconds * 1000);
    return repos.securityConfig.setSchedule({ settings, nextDueAt, keepNotice: keep }, now);
  }
}
