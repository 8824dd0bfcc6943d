import { type Kysely, type Migration, sql } from 'kysely';

/**
 * `GET /admin/audit/activity` sums the rejection roll-ups (`TokenRejectedDueToRotation`
 * outbox events) of a time window. Without an index that read scans the whole outbox,
 * which every login and refresh writes to. The index holds only the roll-ups (one a
 * minute at most): the events the hot paths write never enter it, so it costs them
 * nothing, and the query reads just its window.
 */
export const rotationActivityIndexMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`create index outbox_rotation_rejections_idx on outbox (occurred_at)
      where event_type = 'TokenRejectedDueToRotation'`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('outbox_rotation_rejections_idx').ifExists().execute();
  },
};
