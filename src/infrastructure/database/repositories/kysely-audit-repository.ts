import { type Kysely, type RawBuilder, sql } from 'kysely';
import type {
  ActivityWindow,
  AuditChainState,
  AuditFilter,
  AuditRepository,
  ChainAnchor,
  ChainCursor,
  StoredCheckpoints,
} from '../../../application/ports/audit-repository.js';
import {
  AUDIT_CHAIN_VERSION,
  auditTimeText,
  type ChainContent,
  type ChainRow,
  contentTail,
  storableDetails,
  storableText,
} from '../../../domain/audit-chain.js';
import type { AuditEntry, AuditRecord } from '../../../domain/audit-entry.js';
import type { Page } from '../../../domain/page.js';
import { AUDIT_TIME_TEXT } from '../audit-time-text.js';
import { clampLimit, decodeCursor, isPositiveInt8, pageOf } from '../cursor.js';
import type { AuditRow, Database } from '../schema.js';

/** Where the audit repository puts a row: at once, or at the end of the unit of work's transaction. */
export interface AuditRecorder {
  record(entry: AuditEntry): Promise<void>;
}

/**
 * Collects a transaction's audit rows and chains them as its last statements
 * ({@link KyselyUnitOfWork.run}), after the revocation feed's: the chain head's lock, which
 * every audit writer waits on until the holder commits, is then held only through the
 * commit, and always taken last, so it adds no lock-order cycle.
 */
export class PendingAudit implements AuditRecorder {
  readonly #entries: AuditEntry[] = [];

  async record(entry: AuditEntry): Promise<void> {
    this.#entries.push(entry);
  }

  async flush(db: Kysely<Database>): Promise<void> {
    for (const entry of this.#entries) await appendChained(db, entry);
  }
}

/**
 * Chains one row in one statement: the UPDATE of `audit_chain_head` locks it until the
 * transaction ends (so concurrent writers, on any instance, chain one after the other),
 * moves it one seq on and computes the new hash in the database from the old one; the
 * INSERT writes the row with both. SET sees the head's old values, so `prev_hash = hash`
 * keeps the predecessor. The preimage is `[1,seq,"prev",` (built here in SQL) followed by
 * {@link contentTail} (built before, as UTF-8 bytes): the text {@link chainHash} hashes.
 */
async function appendChained(db: Kysely<Database>, entry: AuditEntry): Promise<void> {
  const inserted = await chainedInsert(entry).execute(db);
  // No head row would mean no chain at all: refuse rather than lose the audit row.
  if (inserted.numAffectedRows !== 1n)
    throw new Error('audit chain head missing: is migration 0013 applied?');
}

/** The one statement that chains and inserts `entry` (exported for bench/audit-write-paths.ts, which runs it under pgbench). */
export function chainedInsert(entry: AuditEntry): RawBuilder<unknown> {
  const content = storableContent(entry);
  const tail = Buffer.from(contentTail(content), 'utf8');
  return sql`
    with head as (
      update audit_chain_head
         set seq = seq + 1,
             prev_hash = hash,
             hash = encode(sha256(convert_to(${`[${AUDIT_CHAIN_VERSION},`}::text || (seq + 1)::text || ',"' || hash || '",', 'UTF8') || ${tail}::bytea), 'hex')
       where id = 1
      returning seq, prev_hash, hash
    )
    insert into audit_log (seq, prev_hash, hash, occurred_at, actor, action, user_id, reason, details)
    select seq, prev_hash, hash, ${content.occurredAt}::timestamptz, ${content.actor}, ${content.action},
           ${content.userId}, ${content.reason}, ${JSON.stringify(content.details)}::jsonb
      from head`;
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
    this.#recorder = recorder ?? { record: (entry) => appendChained(db, entry) };
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

  async firstUnchainedRow(): Promise<string | null> {
    const row = await this.#db
      .selectFrom('audit_log')
      .select('id')
      .where(sql<boolean>`seq is null`)
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? null : String(row.id);
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
      // A row with no seq has no place to be read in: firstUnchainedRow finds it.
      .where(sql<boolean>`seq is not null`);
    if (after !== null) {
      query = query.where(sql<boolean>`(seq, id) > (${after.seq}::bigint, ${after.id}::bigint)`);
    }
    const rows = await query.orderBy('seq').orderBy('id').limit(limit).execute();
    return rows.map((row) => ({
      id: String(row.id),
      seq: Number(row.seq),
      prevHash: row.prev_hash,
      hash: row.hash,
      content: {
        occurredAt: row.occurred_at_text,
        actor: row.actor,
        action: row.action,
        userId: row.user_id,
        reason: row.reason,
        details: row.details,
      },
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
