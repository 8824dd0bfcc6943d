import { type Kysely, type Migration, sql } from 'kysely';

/**
 * The revocation feed (docs/DESIGN.md §6): one row per change that makes access tokens invalid.
 *
 * `seq` is not a sequence: PostgreSQL hands out sequence values at insert time and
 * transactions commit in any order, so a reader paging `after=<seq>` could pass seq 8
 * while seq 7 was still uncommitted, and never see it. Instead the writing transaction
 * takes the next numbers from the single `revocation_log_counter` row (UPDATE … RETURNING,
 * a row lock held until commit) as its LAST statement (KyselyUnitOfWork): a second writer
 * waits on that row until the first commits, so seqs become visible in seq order and
 * a reader that has seen seq n has seen every seq below n.
 */
export const revocationFeedMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('revocation_log')
      .addColumn('seq', 'bigint', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('user_id', 'uuid')
      .addColumn('session_id', 'uuid')
      .addColumn('kid', 'text')
      .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
      .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
      .execute();
    // The catch-up of a verifier that starts afresh reads one access-token TTL back.
    await db.schema
      .createIndex('revocation_log_occurred_at_idx')
      .on('revocation_log')
      .column('occurred_at')
      .execute();
    await db.schema
      .createTable('revocation_log_counter')
      .addColumn('id', 'smallint', (c) => c.primaryKey().check(sql`id = 1`))
      .addColumn('last_seq', 'bigint', (c) => c.notNull())
      .execute();
    await sql`insert into revocation_log_counter (id, last_seq) values (1, 0)`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('revocation_log_counter').ifExists().execute();
    await db.schema.dropTable('revocation_log').ifExists().execute();
  },
};
