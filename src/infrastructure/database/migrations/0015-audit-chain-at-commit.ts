import { type Kysely, type Migration, sql } from 'kysely';

/**
 * The audit chain moves after the commit (docs/DESIGN.md, "The audit hash chain"): a writer
 * inserts its row with `seq`, `prev_hash` and `hash` null, and the chainer gives them their
 * place later, a batch at a time under the head's lock. The three columns become nullable
 * (every row already there is chained), and a partial index keeps the pending rows — the
 * only ones the chainer and its periodic sweep look for — one cheap index scan away.
 */
export const auditChainAtCommitMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table audit_log
      alter column seq drop not null, alter column prev_hash drop not null, alter column hash drop not null`.execute(
      db,
    );
    await sql`create index audit_log_pending_idx on audit_log (id) where seq is null`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`drop index if exists audit_log_pending_idx`.execute(db);
    // Refused (NOT NULL) while a row is still pending: run the chainer first.
    await sql`alter table audit_log
      alter column seq set not null, alter column prev_hash set not null, alter column hash set not null`.execute(
      db,
    );
  },
};
