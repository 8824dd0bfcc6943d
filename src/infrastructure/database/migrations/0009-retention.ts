import { type Kysely, type Migration, sql } from 'kysely';

/**
 * What the pruner needs so that a batch never scans a table: an index on
 * each column its deletes select by. Each batch walks one of these from its oldest
 * end and stops after the batch size.
 *
 * It also drops the two foreign keys of `refresh_tokens` onto itself (`parent_id`,
 * `successor_id`). Their `ON DELETE SET NULL` actions run per deleted row: without an
 * index on either column each one scans the whole table, and with one each deletion
 * rewrites and locks the neighbouring rows of the chain — live tokens a refresh holds,
 * or rows another pruner claimed — which can deadlock two pruners or a pruner and a
 * reuse detection. Nothing reads `parent_id`; `successor_id` is followed by id and a
 * missing row is already handled (the refresh path treats it as reuse), and the pruner
 * never deletes a successor while its parent's reuse interval runs.
 */
export const retentionMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table refresh_tokens drop constraint if exists refresh_tokens_parent_id_fkey`.execute(db);
    await sql`alter table refresh_tokens drop constraint if exists refresh_tokens_successor_id_fkey`.execute(
      db,
    );
    await db.schema
      .createIndex('refresh_tokens_expires_at_idx')
      .on('refresh_tokens')
      .column('expires_at')
      .execute();
    await db.schema.createIndex('sessions_expires_at_idx').on('sessions').column('expires_at').execute();
    // Only revoked sessions: a live session never enters it.
    await db.schema
      .createIndex('sessions_revoked_at_idx')
      .on('sessions')
      .column('revoked_at')
      .where(sql.ref('revoked_at'), 'is not', null)
      .execute();
    await db.schema
      .createIndex('outbox_published_occurred_at_idx')
      .on('outbox')
      .column('occurred_at')
      .where(sql.ref('published_at'), 'is not', null)
      .execute();
    await db.schema.createIndex('audit_log_occurred_at_idx').on('audit_log').column('occurred_at').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const index of [
      'audit_log_occurred_at_idx',
      'outbox_published_occurred_at_idx',
      'sessions_revoked_at_idx',
      'sessions_expires_at_idx',
      'refresh_tokens_expires_at_idx',
    ]) {
      await db.schema.dropIndex(index).ifExists().execute();
    }
  },
};
