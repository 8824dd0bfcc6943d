import { validationError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { AuditAction } from '../../events.js';

/** At most this many intervals in one answer: a chart, not an export. */
export const MAX_ACTIVITY_BUCKETS = 500;
/** The finest interval: the rejection roll-up writes once a minute. */
export const MIN_ACTIVITY_BUCKET_SECONDS = 60;

/** Intervals shown when the caller gives no start. */
const DEFAULT_BUCKETS = 24;

/** One interval of {@link RotationActivity}: what happened from `start` for `bucketSeconds`. */
interface ActivityBucket {
  readonly start: Date;
  readonly globalRotations: number;
  readonly userRotations: number;
  /** Requests refused because a global rotation made their token too old. */
  readonly rejectedGlobal: number;
  /** Requests refused because a user rotation made their token too old. */
  readonly rejectedUser: number;
}

/** Rotations and the refusals they caused, per interval, oldest first, every interval present. */
export interface RotationActivity {
  readonly since: Date;
  readonly until: Date;
  readonly bucketSeconds: number;
  readonly buckets: readonly ActivityBucket[];
}

/**
 * Rotations (from the audit log) and rotation rejections (from the
 * `TokenRejectedDueToRotation` roll-ups) per interval: the console's activity chart.
 * Both are counted by the database, so the cost follows the number of intervals.
 *
 * @example
 * // the last 24 hours, hour by hour
 * const activity = await query.execute({ bucketSeconds: 3600 });
 */
export class GetRotationActivityQuery {
  constructor(private readonly ctx: AppContext) {}

  /**
   * `until` defaults to the interval boundary after now (so the last interval holds now),
   * `since` to 24 intervals before `until`. Fails
   * (`validation_failed`) on an empty window, too fine an interval or too many of them.
   */
  async execute(window: {
    readonly since?: Date;
    readonly until?: Date;
    readonly bucketSeconds: number;
  }): Promise<Result<RotationActivity>> {
    const { bucketSeconds } = window;
    // By default the intervals end at the boundary after now, aligned (by the hour for 3600 s):
    // the current interval is the last one drawn and holds what happened just now.
    const step = bucketSeconds * 1000;
    const until = window.until ?? new Date((Math.floor(this.ctx.clock.now().getTime() / step) + 1) * step);
    const since = window.since ?? new Date(until.getTime() - DEFAULT_BUCKETS * bucketSeconds * 1000);
    if (!(until.getTime() > since.getTime())) {
      return err(validationError([{ path: '/until', message: 'must be after since' }]));
    }
    if (!Number.isInteger(bucketSeconds) || bucketSeconds < MIN_ACTIVITY_BUCKET_SECONDS) {
      return err(
        validationError([
          { path: '/bucketSeconds', message: `must be a whole number ≥ ${MIN_ACTIVITY_BUCKET_SECONDS}` },
        ]),
      );
    }
    const count = Math.ceil((until.getTime() - since.getTime()) / (bucketSeconds * 1000));
    if (count > MAX_ACTIVITY_BUCKETS) {
      return err(
        validationError([
          {
            path: '/bucketSeconds',
            message: `the window would make ${count} intervals; at most ${MAX_ACTIVITY_BUCKETS}`,
          },
        ]),
      );
    }
    const [rotations, rejections] = await this.ctx.uow.read(
      async (repos) =>
        [
          await repos.audit.countByInterval({
            since,
            until,
            bucketSeconds,
            actions: [AuditAction.GlobalRotation, AuditAction.UserRotation],
          }),
          await repos.outbox.rejectionsByInterval({ since, until, bucketSeconds }),
        ] as const,
    );
    const buckets = Array.from({ length: count }, (_, i) => ({
      start: new Date(since.getTime() + i * bucketSeconds * 1000),
      globalRotations: 0,
      userRotations: 0,
      rejectedGlobal: 0,
      rejectedUser: 0,
    }));
    for (const row of rotations) {
      const bucket = buckets[row.bucket];
      if (bucket === undefined) continue;
      if (row.action === AuditAction.GlobalRotation) bucket.globalRotations += row.count;
      else bucket.userRotations += row.count;
    }
    for (const row of rejections) {
      const bucket = buckets[row.bucket];
      if (bucket === undefined) continue;
      bucket.rejectedGlobal += row.globalRotation;
      bucket.rejectedUser += row.userRotation;
    }
    return ok({ since, until, bucketSeconds, buckets });
  }
}
