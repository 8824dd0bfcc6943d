import { type Kysely, type Migration, sql } from 'kysely';

/**
 * One row `/ready` writes to: a database that answers reads but refuses writes (a standby
 * after a failover, `default_transaction_read_only`, a full disk) must not be called ready.
 * Every instance updates the same row, so the table never grows.
 */
export const readinessProbeMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`create table readiness_probe (
      id smallint primary key check (id = 1),
      probed_at timestamptz not null
    )`.execute(db);
    await sql`insert into readiness_probe (id, probed_at) values (1, now())`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('readiness_probe').ifExists().execute();
  },
};
