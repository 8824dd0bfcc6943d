import { type Kysely, type RawBuilder, sql } from 'kysely';
import type {
  ActivityWindow,
  AuditChainState,
  AuditFilter,
  AuditRepository,
  ChainAnchor,
  ChainCursor,
  PendingRows,
  StoredCheckpoints,
} from '../../../application/ports/audit-repository.js';
import {
  auditTimeText,
  type ChainContent,
  type ChainRow,
  storableDetails,
  storableText,
} from '../../../domain/audit-chain.js';
import type { AuditEntry, AuditRecord } from '../../../domain/audit-entry.js';
import type { Page } from '../../../domain/page.js';
import { AUDIT_TIME_TEXT, chainContentOf } from '../audit-time-text.js';
import { clampLimit, decodeCursor, isPositiveInt8, pageOf } from '../cursor.js';
import type { AuditRow, Database } from '../schema.js';

/** Where the audit repository puts a row: at once, or at the end of the unit of work's transaction. */
export interface AuditRecorder {
  record(entry: AuditEntry): Promise<void>;
}

/**
 * Collects a transaction's audit rows and writes them as its last statements
 * ({@link KyselyUnitOfWork.run}). They are written unchained (seq, prev_hash and hash null):
 * the chainer gives them their place after the commit (docs/DESIGN.md, "The audit hash
 * chain"), so no writer waits on the chain head's lock and audited commits share WAL flushes.
 */
export class PendingAudit implements AuditRecorder {
  readonly #entries: AuditEntry[] = [];

  async record(entry: AuditEntry): Promise<void> {
    this.#entries.push(entry);
  }

  /** Whether the transaction wrote audit rows: the unit of work tells the chainer after its commit. */
  get written(): boolean {
    return this.#entries.length > 0;
  }

  async flush(db: Kysely<Database>): Promise<void> {
    for (const entry of this.#entries) await unchainedInsert(entry).execute(db);
  }
}

/**
 * The writer's one statement: a plain INSERT of the row as it will be hashed, with no seq
 * yet (exported for bench/audit-write-paths.ts, which runs it under pgbench).
 */
export function unchainedInsert(entry: AuditEntry): RawBuilder<unknown> {
  const content = storableContent(entry);
  return sql`
    insert into audit_log (occurred_at, actor, action, user_id, reason, details)
    values (${content.occurredAt}::timestamptz, ${content.actor}, ${content.action},
            ${content.userId}, ${content.reason}, ${JSON.stringify(content.details)}::jsonb)`;
}

/** The entry's fields exactly as they will be stored (and so read back and hashed by a verifier). */
function storableContent(entry: AuditEntry): ChainContent {
  return {
    occurredAt: auditTimeText(entry.occurredAt),
    actor: storableText(entry.actor),
    action: storableText(entry.action),
    userId: entry.userId === null ? null : storableText(entry.userId),
    reason: entry.reason === null ? null : storableText(entry.reason),
    details: storableDetails(entry.details),
  };
}

export class KyselyAuditRepository implements AuditRepository {
  readonly #db: Kysely<Database>;
  readonly #recorder: AuditRecorder;

  /** Without a recorder each append is its own statement (one statement: atomic even outside a transaction). */
  constructor(db: Kysely<Database>, recorder?: AuditRecorder) {
    this.#db = db;
    this.#recorder = recorder ?? {
      record: (entry) =>
        unchainedInsert(entry)
          .execute(db)
          .then(() => undefined),
    };
  }

  append(entry: AuditEntry): Promise<void> {
    return this.#recorder.record(entry);
  }

  async chainState(): Promise<AuditChainState> {
    const head = await this.#db
      .selectFrom('audit_chain_head')
      .selectAll()
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    return {
      head: { seq: Number(head.seq), hash: head.hash },
      upgradeSeq: Number(head.upgrade_seq),
      upgradedAt: head.upgraded_at,
    };
  }

  async pendingRows(staleBefore: Date): Promise<PendingRows> {
    const summary = await sql<{ count: string; oldest: Date | null }>`
      select count(*)::text as count, min(occurred_at) as oldest from audit_log where seq is null`.execute(
      this.#db,
    );
    const row = summary.rows[0];
    const count = Number(row?.count ?? 0);
    if (count === 0) return { count: 0, oldestAt: null, staleId: null };
    const stale = await this.#db
      .selectFrom('audit_log')
      .select('id')
      .where(sql<boolean>`seq is null`)
      .where('occurred_at', '<', staleBefore)
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    const oldest = row?.oldest ?? null;
    return {
      count,
      oldestAt: oldest === null ? null : new Date(oldest),
      staleId: stale === undefined ? null : String(stale.id),
    };
  }

  async chainAnchor(): Promise<ChainAnchor | null> {
    const row = await this.#db
      .selectFrom('audit_chain_anchor')
      .select(['seq', 'hash', 'checkpoint'])
      .where('id', '=', 1)
      .executeTakeFirst();
    if (row === undefined || Number(row.seq) === 0) return null;
    // A pruned anchor always has its checkpoint: an empty one is refused by the verifier.
    return { seq: Number(row.seq), hash: row.hash, checkpoint: row.checkpoint ?? '' };
  }

  async storedCheckpoints(): Promise<StoredCheckpoints> {
    const keys = await this.#db.selectFrom('audit_checkpoint_keys').select(['kid', 'public_jwk']).execute();
    const rows = await this.#db
      .selectFrom('audit_checkpoints')
      .select(['seq', 'jws'])
      .orderBy('seq')
      .execute();
    return {
      keys: { keys: keys.map((k) => ({ ...k.public_jwk, kid: k.kid })) },
      checkpoints: rows.map((r) => ({ seq: Number(r.seq), jws: r.jws })),
    };
  }

  async chainRows(after: ChainCursor | null, limit: number): Promise<readonly ChainRow[]> {
    let query = this.#db
      .selectFrom('audit_log')
      .select(['id', 'seq', 'prev_hash', 'hash', 'actor', 'action', 'user_id', 'reason', 'details'])
      .select(AUDIT_TIME_TEXT.as('occurred_at_text'))
      // A pending row (no seq yet) has no place to be read in: pendingRows counts it.
      .where(sql<boolean>`seq is not null`);
    if (after !== null) {
      query = query.where(sql<boolean>`(seq, id) > (${after.seq}::bigint, ${after.id}::bigint)`);
    }
    const rows = await query.orderBy('seq').orderBy('id').limit(limit).execute();
    return rows.map((row) => ({
      id: String(row.id),
      seq: Number(row.seq),
      // Read only where seq is not null: the chainer sets the three together.
      prevHash: row.prev_hash ?? '',
      hash: row.hash ?? '',
      content: chainContentOf(row),
    }));
  }

  /** Newest first (id descending); the cursor is the last id seen. */
  async list(filter: AuditFilter): Promise<Page<AuditRecord>> {
    const limit = clampLimit(filter.limit);
    let query = this.#db.selectFrom('audit_log').selectAll();
    if (filter.action !== undefined) query = query.where('action', '=', filter.action);
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
    if (filter.since !== undefined) query = query.where('occurred_at', '>=', filter.since);
    if (filter.until !== undefined) query = query.where('occurred_at', '<', filter.until);
    if (filter.cursor !== undefined) {
      const [lastId] = decodeCursor(filter.cursor, [isPositiveInt8]) as [string];
      query = query.where('id', '<', lastId);
    }
    const rows = await query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    return pageOf(rows, limit, toAuditRecord, (item) => [item.id]);
  }

  /** Counted by the database: the answer's size is bounded by the number of intervals, not of rows. */
  async countByInterval(
    window: ActivityWindow & { readonly actions: readonly string[] },
  ): Promise<{ action: string; bucket: number; count: number }[]> {
    if (window.actions.length === 0) return [];
    const bucket = sql<number>`floor(extract(epoch from (occurred_at - ${window.since}::timestamptz)) / ${window.bucketSeconds}::int)::int`;
    const rows = await this.#db
      .selectFrom('audit_log')
      .select((eb) => ['action', bucket.as('bucket'), eb.fn.countAll<string>().as('count')])
      .where('action', 'in', [...window.actions])
      .where('occurred_at', '>=', window.since)
      .where('occurred_at', '<', window.until)
      .groupBy(['action', sql`2`])
      .execute();
    return rows.map((row) => ({ action: row.action, bucket: Number(row.bucket), count: Number(row.count) }));
  }
}

function toAuditRecord(row: AuditRow): AuditRecord {
  return {
    id: String(row.id),
    occurredAt: row.occurred_at,
    actor: row.actor,
    action: row.action,
    userId: row.user_id,
    reason: row.reason,
    details: row.details,
  };
}
