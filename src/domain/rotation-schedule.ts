import { type FieldError, type TokenwardenError, validationError } from './errors.js';
import { err, ok, type Result } from './result.js';
import { parseRotationReason } from './rotation-reason.js';
import { isValidGracePeriod, MAX_GRACE_PERIOD_SECONDS, type SecurityConfig } from './versions.js';

/** Who a scheduled rotation is audited as. */
export const SCHEDULE_ACTOR = 'system:schedule';

/** The reason a schedule set without one rotates with. */
const DEFAULT_SCHEDULE_REASON = 'scheduled periodic rotation';

/**
 * Shorter than an hour would log everyone out more often than any compliance rule asks,
 * and a typo (`30` meaning days) would make the service unusable. Tests cross periods
 * with a ManualClock instead of using short ones.
 */
const MIN_ROTATION_INTERVAL_SECONDS = 3_600;
/** Ten years: enough for any policy, and far from overflowing a timestamp. */
const MAX_ROTATION_INTERVAL_SECONDS = 3_650 * 86_400;
/** The advance notice by default: a week, or half the interval when that is shorter. */
const DEFAULT_NOTICE_LEAD_SECONDS = 7 * 86_400;

/** A periodic global rotation, as configured (docs/DESIGN.md §2, scheduled). */
export interface RotationScheduleSettings {
  readonly intervalSeconds: number;
  /** The grace period of each scheduled rotation; null = the configured default at that time. */
  readonly gracePeriodSeconds: number | null;
  readonly reason: string;
  /** How long before each due time the `GlobalTokenRotationScheduled` notice is written. */
  readonly noticeLeadSeconds: number;
}

/** The settings and where the schedule stands: the next due time and what was done for it. */
export interface RotationSchedule extends RotationScheduleSettings {
  readonly nextDueAt: Date;
  /** The due time the last notice was written for: equal to `nextDueAt` once it was sent. */
  readonly noticeSentFor: Date | null;
  /** The due time the last scheduled rotation ran for (null before the first). */
  readonly lastDueAt: Date | null;
}

/** The security config as admins read it: the versions and the rotation schedule (null = off). */
export interface SecurityConfigView extends SecurityConfig {
  readonly rotationSchedule: RotationSchedule | null;
}

/** What a change of the schedule asks for: omitted fields keep the current values. */
export interface RotationScheduleInput {
  readonly interval?: string | number;
  readonly gracePeriodSeconds?: number | null;
  readonly reason?: string;
  readonly noticeLead?: string | number;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/**
 * A duration as operators write it: `90d`, `12h`, `30m`, `45s`, or whole seconds (a
 * number or a string of digits). Returns the seconds, or why not.
 *
 * @example
 * parseDuration('90d'); // ok(7776000)
 * parseDuration(3600);  // ok(3600)
 * parseDuration('0d');  // ok(0): the caller checks the range
 */
export function parseDuration(raw: unknown): Result<number, string> {
  if (typeof raw === 'number') {
    return Number.isSafeInteger(raw) && raw >= 0 ? ok(raw) : err('must be a whole number of seconds');
  }
  if (typeof raw !== 'string') return err('must be a duration such as 90d, 12h, 30m or seconds');
  // ASCII digits and one unit only: no signs, fractions, exponents, spaces inside or hidden characters.
  const match = /^(\d{1,12})([smhd]?)$/.exec(raw.trim());
  if (match === null) return err(`must be a duration such as 90d, 12h, 30m or seconds`);
  const seconds = Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
  return Number.isSafeInteger(seconds) ? ok(seconds) : err('is too long');
}

/**
 * The shortest exact spelling of a duration, the way {@link parseDuration} reads it.
 *
 * @example
 * formatDuration(7776000); // '90d'
 * formatDuration(5400);    // '90m'
 */
export function formatDuration(seconds: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    const size = UNIT_SECONDS[unit] ?? 1;
    if (seconds > 0 && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/**
 * Checks a change of the schedule against the current one (null = off) and returns the
 * settings it leads to. The interval is required when the schedule is off; other fields
 * keep their values when omitted. Paths are relative to `base` (`/rotationSchedule`).
 *
 * @example
 * resolveScheduleSettings({ interval: '90d' }, null); // ok({ intervalSeconds: 7776000, noticeLeadSeconds: 604800, … })
 */
export function resolveScheduleSettings(
  input: RotationScheduleInput,
  current: RotationScheduleSettings | null,
  base = '/rotationSchedule',
): Result<RotationScheduleSettings, TokenwardenError> {
  const errors: FieldError[] = [];
  let intervalSeconds = current?.intervalSeconds;
  if (input.interval !== undefined) {
    const parsed = parseDuration(input.interval);
    if (!parsed.ok) errors.push({ path: `${base}/interval`, message: parsed.error });
    else if (parsed.value < MIN_ROTATION_INTERVAL_SECONDS || parsed.value > MAX_ROTATION_INTERVAL_SECONDS) {
      errors.push({
        path: `${base}/interval`,
        message: `must be from ${formatDuration(MIN_ROTATION_INTERVAL_SECONDS)} to ${formatDuration(MAX_ROTATION_INTERVAL_SECONDS)}`,
      });
    } else intervalSeconds = parsed.value;
  } else if (current === null) {
    errors.push({ path: `${base}/interval`, message: 'is required to turn the schedule on' });
  }

  let gracePeriodSeconds = current?.gracePeriodSeconds ?? null;
  if (input.gracePeriodSeconds !== undefined) {
    if (input.gracePeriodSeconds !== null && !isValidGracePeriod(input.gracePeriodSeconds)) {
      errors.push({
        path: `${base}/gracePeriodSeconds`,
        message: `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}, or null for the default`,
      });
    } else gracePeriodSeconds = input.gracePeriodSeconds;
  }

  let reason = current?.reason ?? DEFAULT_SCHEDULE_REASON;
  if (input.reason !== undefined) {
    const parsed = parseRotationReason(input.reason, `${base}/reason`);
    if (!parsed.ok) errors.push(...((parsed.error.extensions.errors as FieldError[] | undefined) ?? []));
    else reason = parsed.value;
  }

  let noticeLeadSeconds: number | undefined;
  if (input.noticeLead !== undefined) {
    const parsed = parseDuration(input.noticeLead);
    if (!parsed.ok) errors.push({ path: `${base}/noticeLead`, message: parsed.error });
    else noticeLeadSeconds = parsed.value;
  }
  if (errors.length > 0 || intervalSeconds === undefined) return err(validationError(errors));

  // A lead time kept from before is cut to fit a shorter interval; one asked for must fit.
  const lead = noticeLeadSeconds ?? current?.noticeLeadSeconds ?? defaultNoticeLead(intervalSeconds);
  if (lead >= intervalSeconds) {
    if (noticeLeadSeconds !== undefined) {
      return err(
        validationError([{ path: `${base}/noticeLead`, message: 'must be shorter than the interval' }]),
      );
    }
    return ok({
      intervalSeconds,
      gracePeriodSeconds,
      reason,
      noticeLeadSeconds: defaultNoticeLead(intervalSeconds),
    });
  }
  return ok({ intervalSeconds, gracePeriodSeconds, reason, noticeLeadSeconds: lead });
}

function defaultNoticeLead(intervalSeconds: number): number {
  return Math.min(DEFAULT_NOTICE_LEAD_SECONDS, Math.floor(intervalSeconds / 2));
}

/**
 * The first due time strictly after `now` on the cadence `due + k × interval`: after a
 * rotation for `due`, however many periods were missed while nothing ran, the schedule
 * rotates once and keeps its calendar.
 *
 * @example
 * nextDueAfter(new Date('2026-01-01'), 86_400, new Date('2026-01-03T12:00Z')); // 2026-01-04
 */
export function nextDueAfter(due: Date, intervalSeconds: number, now: Date): Date {
  const step = intervalSeconds * 1000;
  const periods = Math.max(1, Math.floor((now.getTime() - due.getTime()) / step) + 1);
  return new Date(due.getTime() + periods * step);
}

/**
 * A schedule's settings and next due time as the audit trail records them and the CLI
 * prints them: the interval spelled out beside its seconds.
 */
export function scheduleSummary(schedule: RotationSchedule) {
  return {
    interval: formatDuration(schedule.intervalSeconds),
    intervalSeconds: schedule.intervalSeconds,
    gracePeriodSeconds: schedule.gracePeriodSeconds,
    reason: schedule.reason,
    noticeLeadSeconds: schedule.noticeLeadSeconds,
    nextDueAt: schedule.nextDueAt.toISOString(),
  };
}

/** When the notice for the schedule's next due time is to be written. */
export function noticeAt(schedule: Pick<RotationSchedule, 'nextDueAt' | 'noticeLeadSeconds'>): Date {
  return new Date(schedule.nextDueAt.getTime() - schedule.noticeLeadSeconds * 1000);
}

/** What is owed at `now`: the rotation (with its notice if that never went out), the notice alone, or nothing. */
export type ScheduleStep = 'rotate' | 'notice' | 'idle';

/**
 * The one rule of the schedule, held again inside the locked transaction so a timer
 * on any number of instances only decides when to ask.
 *
 * @example
 * scheduleStep(schedule, clock.now()); // 'idle' until the notice is due
 */
export function scheduleStep(schedule: RotationSchedule | null, now: Date): ScheduleStep {
  if (schedule === null) return 'idle';
  if (now.getTime() >= schedule.nextDueAt.getTime()) return 'rotate';
  const noticeSent = schedule.noticeSentFor?.getTime() === schedule.nextDueAt.getTime();
  return !noticeSent && now.getTime() >= noticeAt(schedule).getTime() ? 'notice' : 'idle';
}
