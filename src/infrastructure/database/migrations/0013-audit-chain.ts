import { type Kysely, type Migration, sql } from 'kysely';
import { chainHash, GENESIS_HASH } from '../../../domain/audit-chain.js';
import { AUDIT_TIME_TEXT, type AuditContentColumns, chainContentOf } from '../audit-time-text.js';

/** Rows chained per statement: bounded memory however long the existing trail is. */
const BATCH = 1000;

interface ExistingRow extends AuditContentColumns {
  readonly id: string;
  readonly at: string;
}

/**
 * The audit hash chain (docs/DESIGN.md, "The audit hash chain"): every row gets `seq`,
 * `prev_hash` and `hash`, and the single `audit_chain_head` row holds the last of them. The
 * rows already there are chained now, in the order they were written (occurred_at, id): the
 * chain proves they are unchanged from this upgrade on, not before it, which is why the head
 * records `upgrade_seq`, the last row chained here (0 on a new database).
 */
export const auditChainMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table audit_log add column seq bigint, add column prev_hash text, add column hash text`.execute(
      db,
    );
    let seq = 0;
    let prev = GENESIS_HASH;
    let hash = GENESIS_HASH;
    let after: { at: string; id: string } | null = null;
    for (;;) {
      const page: { rows: ExistingRow[] } = await sql<ExistingRow>`
        select id::text as id, occurred_at::text as at, ${AUDIT_TIME_TEXT} as occurred_at_text,
               actor, action, user_id, reason, details
          from audit_log
         where ${after === null ? sql`true` : sql`(occurred_at, id) > (${after.at}::timestamptz, ${after.id}::bigint)`}
         order by occurred_at, id
         limit ${BATCH}`.execute(db);
      if (page.rows.length === 0) break;
      const chained = page.rows.map((row) => {
        seq += 1;
        prev = hash;
        hash = chainHash(seq, prev, chainContentOf(row));
        return sql`(${row.id}::bigint, ${seq}::bigint, ${prev}, ${hash})`;
      });
      await sql`update audit_log a set seq = v.seq, prev_hash = v.prev_hash, hash = v.hash
        from (values ${sql.join(chained)}) as v(id, seq, prev_hash, hash) where a.id = v.id`.execute(db);
      const last = page.rows.at(-1) as ExistingRow;
      after = { at: last.at, id: last.id };
    }
    await sql`alter table audit_log
      alter column seq set not null, alter column prev_hash set not null, alter column hash set not null`.execute(
      db,
    );
    await sql`create unique index audit_log_seq_idx on audit_log (seq)`.execute(db);
    await sql`create table audit_chain_head (
      id smallint primary key check (id = 1),
      seq bigint not null,
      hash text not null,
      prev_hash text not null,
      upgrade_seq bigint not null,
      upgraded_at timestamptz not null
    )`.execute(db);
    await sql`insert into audit_chain_head (id, seq, hash, prev_hash, upgrade_seq, upgraded_at)
      values (1, ${seq}, ${hash}, ${seq === 0 ? GENESIS_HASH : prev}, ${seq}, now())`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`drop table if exists audit_chain_head`.execute(db);
    await sql`drop index if exists audit_log_seq_idx`.execute(db);
    await sql`alter table audit_log drop column if exists seq, drop column if exists prev_hash,
      drop column if exists hash`.execute(db);
  },
};
