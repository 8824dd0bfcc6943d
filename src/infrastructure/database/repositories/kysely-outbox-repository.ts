import { type Kysely, sql } from 'kysely';
import { EventType } from '../../../application/events.js';
import type { ActivityWindow } from '../../../application/ports/audit-repository.js';
import type { OutboxRepository } from '../../../application/ports/outbox-repository.js';
import type { OutboxEvent } from '../../../domain/outbox-event.js';
import type { Database } from '../schema.js';

export class KyselyOutboxRepository implements OutboxRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Written in the caller's transaction; due for publishing at once. */
  async append(event: OutboxEvent): Promise<void> {
    await this.#db
      .insertInto('outbox')
      .values({
        id: event.id,
        event_type: event.type,
        payload: JSON.stringify(event.payload),
        occurred_at: event.occurredAt,
        next_attempt_at: event.occurredAt,
      })
      .execute();
  }

  /** Summed by the database from each roll-up's `byRejection` counts. */
  async rejectionsByInterval(
    window: ActivityWindow,
  ): Promise<{ bucket: number; globalRotation: number; userRotation: number }[]> {
    const rows = await rejectionsByIntervalQuery(this.#db, window).execute();
    return rows.map((row) => ({
      bucket: Number(row.bucket),
      globalRotation: Number(row.global_rotation),
      userRotation: Number(row.user_rotation),
    }));
  }
}

/**
 * The roll-ups of a window, summed per interval: found through
 * `outbox_rotation_rejections_idx` (migration 0011), never by scanning the outbox.
 *
 * @example
 * const rows = await rejectionsByIntervalQuery(db, { since, until, bucketSeconds: 3600 }).execute();
 */
export function rejectionsByIntervalQuery(db: Kysely<Database>, window: ActivityWindow) {
  const bucket = sql<number>`floor(extract(epoch from (occurred_at - ${window.since}::timestamptz)) / ${window.bucketSeconds}::int)::int`;
  const count = (kind: string) =>
    sql<string>`coalesce(sum(coalesce((payload->'byRejection'->>${kind})::bigint, 0)), 0)`;
  return db
    .selectFrom('outbox')
    .select([
      bucket.as('bucket'),
      count('global_rotation').as('global_rotation'),
      count('user_rotation').as('user_rotation'),
    ])
    .where('event_type', '=', EventType.TokenRejectedDueToRotation)
    .where('occurred_at', '>=', window.since)
    .where('occurred_at', '<', window.until)
    .groupBy(sql`1`);
}
