import type { RotationSchedule, RotationScheduleSettings } from '../../domain/rotation-schedule.js';
import type { SecurityConfig } from '../../domain/versions.js';
import type { RowLock } from './row-lock.js';

/** A schedule to store: its settings, its next due time, and whether a notice already written for that time still stands. */
export interface NewSchedule {
  readonly settings: RotationScheduleSettings;
  readonly nextDueAt: Date;
  readonly keepNotice: boolean;
}

export interface SecurityConfigRepository {
  get(lock?: RowLock): Promise<SecurityConfig>;
  /**
   * Increments the global version in one statement (to `atLeast` when that is higher: a
   * raise past versions the database lost, docs/DESIGN.md §7), returning the version
   * before and the new config.
   */
  rotateGlobal(input: {
    readonly rotatedAt: Date;
    readonly reason: string;
    readonly graceUntil: Date;
    readonly atLeast?: number;
  }): Promise<{ readonly previousVersion: number; readonly config: SecurityConfig }>;
  setGracePeriod(seconds: number, at: Date): Promise<SecurityConfig>;
  /** The rotation schedule, or null while it is off (locks the config row when asked). */
  getSchedule(lock?: RowLock): Promise<RotationSchedule | null>;
  /**
   * Turns the schedule on with these settings and next due time (or off, with null).
   * `keepNotice` keeps the record of a notice already written for an unchanged due time.
   */
  setSchedule(schedule: NewSchedule | null, at: Date): Promise<RotationSchedule | null>;
  /** Records that the notice for `dueAt` was written. */
  markNoticeSent(dueAt: Date, at: Date): Promise<void>;
  /**
   * Moves the schedule from `dueAt` (just rotated for) to `nextDueAt`, only while
   * `dueAt` is still the stored next due time: false when another transaction got there first.
   */
  advanceSchedule(input: {
    readonly dueAt: Date;
    readonly nextDueAt: Date;
    readonly at: Date;
  }): Promise<boolean>;
}
