import { SCHEDULE_ACTOR } from '../../../domain/rotation-schedule.js';

/**
 * Do what the rotation schedule owes now, if anything: the advance notice, or the
 * scheduled global rotation (with its notice, if that never went out). Every instance's
 * timer sends it; the database decides, so each due time is acted on once.
 *
 * @example
 * const outcome = await handler.handle(RunScheduledRotation());
 */
export interface RunScheduledRotation {
  /** Always the schedule itself: scheduled rotations are audited as `system:schedule`. */
  readonly triggeredBy: typeof SCHEDULE_ACTOR;
}

export const RunScheduledRotation = (): RunScheduledRotation =>
  Object.freeze({ triggeredBy: SCHEDULE_ACTOR });
