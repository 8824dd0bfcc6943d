import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * Retention of the audit trail by whole checkpointed segments (docs/RETENTION.md, docs/AUDIT.md):
 * one call removes the rows after the anchor up to a stored checkpoint whose rows are all
 * older than `cutoff`, and moves the anchor onto that checkpoint (its seq, hash and JWS), in
 * one transaction, so what remains always starts right after a signed anchor. The head row
 * is never removed (a checkpoint at the head is not a segment's end): the trail keeps its
 * newest row. The anchor row's lock serialises two pruners. Returns the rows removed, or null
 * when no segment is due.
 *
 * @example
 * while ((await pruneAuditSegment(db, cutoff, 1000)) !== null) {}
 */
export function pruneAuditSegment(
  db: Kysely<Database>,
  cutoff: Date,
  maxRows: number,
): Promise<number | null> {
  return db.transaction().execute(async (trx) => {
    const anchor = await trx
      .selectFrom('audit_chain_anchor')
      .select(['seq'])
      .where('id', '=', 1)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const end = await segmentEnd(trx, Number(anchor.seq), cutoff, maxRows);
    if (end === null) return null;
    const deleted = await trx
      .deleteFrom('audit_log')
      .where(sql<boolean>`seq > ${anchor.seq}::bigint and seq <= ${end.seq}::bigint`)
      .executeTakeFirst();
    await trx
      .updateTable('audit_chain_anchor')
      .set({ seq: end.seq, hash: end.hash, checkpoint: end.jws, pruned_at: sql<Date>`now()` })
      .where('id', '=', 1)
      .execute();
    return Number(deleted.numDeletedRows);
  });
}

/** The rows {@link pruneAuditSegment} would remove now, over every segment due. */
export async function countPrunableAudit(db: Kysely<Database>, cutoff: Date): Promise<number> {
  const anchor = await db
    .selectFrom('audit_chain_anchor')
    .select('seq')
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
  const end = await segmentEnd(db, Number(anchor.seq), cutoff, Number.MAX_SAFE_INTEGER);
  if (end === null) return 0;
  const { n } = await db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where(sql<boolean>`seq > ${anchor.seq}::bigint and seq <= ${end.seq}::bigint`)
    .executeTakeFirstOrThrow();
  return Number(n);
}

/**
 * The checkpoint a segment after `after` ends at: a stored one below the head, the newest
 * within `maxRows` of the anchor (else the oldest past it), moved back before the first row
 * not older than `cutoff` (rows are chained in chaining order, which a clock need not follow;
 * a pending row, with no seq, is in no segment and stays);
 * null when none is left.
 */
async function segmentEnd(
  db: Kysely<Database>,
  after: number,
  cutoff: Date,
  maxRows: number,
): Promise<{ seq: string; hash: string; jws: string } | null> {
  const below = (limit: RawBuilder<unknown>) =>
    db
      .selectFrom('audit_checkpoints')
      .select(['seq', 'hash', 'jws'])
      .where(sql<boolean>`seq > ${after}::bigint`)
      .where(sql<boolean>`seq < ${limit}`);
  const head = sql`(select seq from audit_chain_head where id = 1)`;
  const reach = Math.min(maxRows, Number.MAX_SAFE_INTEGER - after);
  const candidate =
    (await below(head)
      .where(sql<boolean>`seq <= ${after}::bigint + ${reach}::bigint`)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()) ?? (await below(head).orderBy('seq').limit(1).executeTakeFirst());
  if (candidate === undefined) return null;
  // The segment's rows are read through the seq index: the scan is bounded by the segment.
  const young = await db
    .selectFrom('audit_log')
    .select('seq')
    .where(sql<boolean>`seq > ${after}::bigint and seq <= ${candidate.seq}::bigint`)
    .where('occurred_at', '>=', cutoff)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  if (young === undefined) return candidate;
  return (await below(sql`${young.seq}::bigint`).orderBy('seq', 'desc').limit(1).executeTakeFirst()) ?? null;
}
