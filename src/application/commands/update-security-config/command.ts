import type { RotationScheduleInput } from '../../../domain/rotation-schedule.js';

/**
 * Change the default grace period of future global rotations, the rotation schedule,
 * or both (audited). At least one of them.
 *
 * @example
 * UpdateSecurityConfig({ actor: 'cli:ops', rotationSchedule: { interval: '90d', reason: 'quarterly policy' } });
 * UpdateSecurityConfig({ actor: 'cli:ops', rotationSchedule: null }); // schedule off
 */
export interface UpdateSecurityConfig {
  readonly gracePeriodSeconds?: number;
  /** Null turns the schedule off; fields left out keep their values (the interval is needed to turn it on). */
  readonly rotationSchedule?: RotationScheduleInput | null;
  readonly actor: string;
}

export const UpdateSecurityConfig = (fields: UpdateSecurityConfig): UpdateSecurityConfig =>
  Object.freeze({
    ...fields,
    rotationSchedule:
      fields.rotationSchedule === undefined || fields.rotationSchedule === null
        ? fields.rotationSchedule
        : Object.freeze({ ...fields.rotationSchedule }),
  });
