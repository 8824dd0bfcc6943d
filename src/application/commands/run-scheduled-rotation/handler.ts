import { ok, type Result } from '../../../domain/result.js';
import {
  nextDueAfter,
  type RotationSchedule,
  type ScheduleStep,
  scheduleStep,
} from '../../../domain/rotation-schedule.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import type { Repositories } from '../../ports/repositories.js';
import { recordRotationFailure } from '../../rotation-failure.js';
import {
  afterGlobalRotation,
  type GlobalRotationResult,
  rotateGlobalInTransaction,
} from '../trigger-global-token-rotation/rotate-global.js';
import type { RunScheduledRotation } from './command.js';

/** What one run did. */
export interface ScheduledRotationOutcome {
  /** `rotate`: rotated for `dueAt`; `notice`: wrote the notice for `dueAt`; `idle`: nothing was owed. */
  readonly step: ScheduleStep;
  /** The due time acted on (null when idle). */
  readonly dueAt: Date | null;
  /** The schedule's next due time afterwards (null while it is off). */
  readonly nextDueAt: Date | null;
  /** Whether this run wrote a `GlobalTokenRotationScheduled` notice (a rotation writes a late one if none went out). */
  readonly noticeWritten: boolean;
  readonly rotation?: GlobalRotationResult;
}

const idle = (schedule: RotationSchedule | null): ScheduledRotationOutcome => ({
  step: 'idle',
  dueAt: null,
  nextDueAt: schedule?.nextDueAt ?? null,
  noticeWritten: false,
});

/**
 * Exactly once per due time, across instances and restarts, because the database
 * decides: one transaction locks the security_config row FOR UPDATE, checks the stored
 * due time is still owed, writes the notice and/or rotates through the same body as a
 * manual global rotation, and moves the due time on, in one commit. A second instance
 * waits on the lock, then finds nothing owed. Missed periods (everything was down)
 * give one rotation, and the next due time stays on the schedule's cadence.
 */
export class RunScheduledRotationHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: RunScheduledRotation): Promise<Result<ScheduledRotationOutcome>> {
    // Most runs find nothing owed: look without a lock first, so they never queue behind
    // (or hold up) the refreshes that share the config row.
    const peek = await this.ctx.uow.read((repos) => repos.securityConfig.getSchedule());
    const planned = scheduleStep(peek, this.ctx.clock.now());
    if (planned === 'idle') return ok(idle(peek));
    try {
      const outcome = await this.ctx.uow.run((repos) => this.runLocked(repos, command));
      if (outcome.rotation !== undefined) await afterGlobalRotation(this.ctx, outcome.rotation);
      return ok(outcome);
    } catch (cause) {
      if (planned === 'rotate' && peek !== null) {
        this.ctx.metrics.rotation('global', 'failed');
        await recordRotationFailure(this.ctx, {
          scope: 'global',
          triggeredBy: command.triggeredBy,
          reason: peek.reason,
          userId: null,
          cause,
        });
      }
      throw cause;
    }
  }

  private async runLocked(
    repos: Repositories,
    command: RunScheduledRotation,
  ): Promise<ScheduledRotationOutcome> {
    // Lock order step 1, as any global rotation: the config row FOR UPDATE.
    const schedule = await repos.securityConfig.getSchedule('update');
    const now = this.ctx.clock.now();
    const step = scheduleStep(schedule, now);
    // Another instance got here first (or the schedule changed): nothing is owed any more.
    if (schedule === null || step === 'idle') return idle(schedule);

    const dueAt = schedule.nextDueAt;
    const noticeWritten = schedule.noticeSentFor?.getTime() !== dueAt.getTime();
    if (noticeWritten) await this.writeNotice(repos, command, schedule, now, step === 'rotate');
    if (step === 'notice') return { step, dueAt, nextDueAt: dueAt, noticeWritten };

    const rotation = await rotateGlobalInTransaction(this.ctx, repos, {
      triggeredBy: command.triggeredBy,
      reason: schedule.reason,
      gracePeriodSeconds: schedule.gracePeriodSeconds ?? undefined,
      details: { dueAt: dueAt.toISOString() },
    });
    const nextDueAt = nextDueAfter(dueAt, schedule.intervalSeconds, now);
    if (!(await repos.securityConfig.advanceSchedule({ dueAt, nextDueAt, at: now }))) {
      // Cannot happen under the row lock; if it ever did, roll everything back.
      throw new Error(`the rotation schedule moved away from ${dueAt.toISOString()} under its lock`);
    }
    return { step, dueAt, nextDueAt, noticeWritten, rotation };
  }

  /** The advance notice, audited; `late` when it goes out with the rotation itself (nothing ran in the lead time). */
  private async writeNotice(
    repos: Repositories,
    command: RunScheduledRotation,
    schedule: RotationSchedule,
    now: Date,
    late: boolean,
  ): Promise<void> {
    const gracePeriodSeconds =
      schedule.gracePeriodSeconds ?? (await repos.securityConfig.get()).gracePeriodSeconds;
    const details = {
      dueAt: schedule.nextDueAt.toISOString(),
      gracePeriodSeconds,
      intervalSeconds: schedule.intervalSeconds,
      noticeLeadSeconds: schedule.noticeLeadSeconds,
      late,
    };
    await recordChange(
      this.ctx,
      repos,
      EventType.GlobalTokenRotationScheduled,
      {
        occurredAt: now,
        actor: command.triggeredBy,
        action: AuditAction.GlobalRotationScheduled,
        userId: null,
        reason: schedule.reason,
        details,
      },
      { triggeredBy: command.triggeredBy, reason: schedule.reason, ...details },
    );
    await repos.securityConfig.markNoticeSent(schedule.nextDueAt, now);
  }
}
