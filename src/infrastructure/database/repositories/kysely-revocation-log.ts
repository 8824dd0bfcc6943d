import { type Kysely, sql } from 'kysely';
import type {
  RevocationChange,
  RevocationKind,
  RevocationLogRepository,
} from '../../../application/ports/revocation-log.js';
import type { Database } from '../schema.js';

/** A change to the feed, before it has its seq. */
export interface RevocationEntry {
  readonly kind: RevocationKind;
  readonly userId?: string;
  readonly sessionId?: string;
  readonly kid?: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly occurredAt: Date;
}

/** Where the repositories that make a change put its feed row. */
export interface RevocationRecorder {
  record(entry: RevocationEntry): Promise<void>;
}

/**
 * Collects a transaction's feed rows and writes them as its last statements
 * ({@link KyselyUnitOfWork.run}). Taking the counter row last keeps its lock (which
 * every feed writer waits on until the holder commits) as short as the commit, and
 * after every other lock of the transaction, so it adds no lock-order cycle.
 */
export class PendingRevocations implements RevocationRecorder {
  readonly #entries: RevocationEntry[] = [];

  async record(entry: RevocationEntry): Promise<void> {
    this.#entries.push(entry);
  }

  async flush(db: Kysely<Database>): Promise<void> {
    if (this.#entries.length === 0) return;
    await appendRevocations(db, this.#entries);
  }
}

/** For repositories used outside a unit of work (tests, one-off statements): written at once. */
export class ImmediateRevocations implements RevocationRecorder {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  record(entry: RevocationEntry): Promise<void> {
    return appendRevocations(this.#db, [entry]);
  }
}

/**
 * Numbers the entries from the counter row and inserts them. The UPDATE locks that
 * row until the transaction ends, so a concurrent writer gets the next numbers only
 * after this one committed (or rolled back, leaving its numbers unused: the counter
 * update rolls back with it, so there are no gaps either).
 */
async function appendRevocations(db: Kysely<Database>, entries: readonly RevocationEntry[]): Promise<void> {
  const counter = await db
    .updateTable('revocation_log_counter')
    .set({ last_seq: sql<number>`last_seq + ${entries.length}` })
    .where('id', '=', 1)
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const first = Number(counter.last_seq) - entries.length + 1;
  await db
    .insertInto('revocation_log')
    .values(
      entries.map((entry, i) => ({
        seq: first + i,
        kind: entry.kind,
        user_id: entry.userId ?? null,
        session_id: entry.sessionId ?? null,
        kid: entry.kid ?? null,
        details: JSON.stringify(entry.details ?? {}),
        occurred_at: entry.occurredAt,
      })),
    )
    .execute();
}

export class KyselyRevocationLogRepository implements RevocationLogRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async lastSeq(): Promise<number> {
    const row = await this.#db
      .selectFrom('revocation_log_counter')
      .select('last_seq')
      .where('id', '=', 1)
      .executeTakeFirst();
    return row === undefined ? 0 : Number(row.last_seq);
  }

  async listAfter(input: {
    readonly after: number;
    readonly upTo: number;
    readonly since: Date;
    readonly limit: number;
  }): Promise<readonly RevocationChange[]> {
    const rows = await this.#db
      .selectFrom('revocation_log')
      .selectAll()
      .where('seq', '>', sql<number>`${input.after}`)
      .where('seq', '<=', sql<number>`${input.upTo}`)
      .where('occurred_at', '>=', input.since)
      .orderBy('seq')
      .limit(input.limit)
      .execute();
    return rows.map((row) => ({
      seq: Number(row.seq),
      kind: row.kind as RevocationKind,
      userId: row.user_id,
      sessionId: row.session_id,
      kid: row.kid,
      details: row.details,
      occurredAt: row.occurred_at,
    }));
  }
}
