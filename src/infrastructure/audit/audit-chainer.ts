import { type Kysely, sql } from 'kysely';
import { chainHash } from '../../domain/audit-chain.js';
import { AUDIT_TIME_TEXT, type AuditContentColumns, chainContentOf } from '../database/audit-time-text.js';
import type { Database } from '../database/schema.js';
import { PeriodicTask } from '../scheduling/periodic-task.js';

/** Rows chained per transaction: one WAL flush covers them all; bounded memory and lock time. */
export const CHAIN_BATCH = 500;

/** Seconds between sweeps for rows no trigger chained (a skipped run, a crash, a write outside a unit of work). */
const SWEEP_SECONDS = 1;

interface PendingRow extends AuditContentColumns {
  readonly id: string;
}

/**
 * Chains up to `limit` pending rows (seq null), lowest id first, in one transaction that
 * holds the head's row lock (docs/DESIGN.md, "The audit hash chain"): a second chainer, on
 * any instance, waits for it and then reads the rows still pending, so `seq` stays strict
 * and gap-free. Hashes are computed here from the rows as the database gives them back —
 * the very text a verifier reads. Returns the number of rows chained.
 */
export async function chainPendingBatch(db: Kysely<Database>, limit = CHAIN_BATCH): Promise<number> {
  // Nothing pending (the sweep's usual case): one probe of the partial index, no transaction, no lock.
  const probe = await sql<{ id: string }>`select id from audit_log where seq is null limit 1`.execute(db);
  if (probe.rows.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    const head = await sql<{ seq: string; hash: string }>`
      select seq::text as seq, hash from audit_chain_head where id = 1 for update`.execute(trx);
    const current = head.rows[0];
    if (current === undefined) throw new Error('audit chain head missing: is migration 0013 applied?');
    const pending = await sql<PendingRow>`
      select id::text as id, ${AUDIT_TIME_TEXT} as occurred_at_text, actor, action, user_id, reason, details
        from audit_log where seq is null order by id limit ${limit}`.execute(trx);
    if (pending.rows.length === 0) return 0;
    let seq = Number(current.seq);
    let prev = current.hash;
    let hash = current.hash;
    const chained = pending.rows.map((row) => {
      seq += 1;
      prev = hash;
      hash = chainHash(seq, prev, chainContentOf(row));
      return sql`(${row.id}::bigint, ${seq}::bigint, ${prev}, ${hash})`;
    });
    const updated = await sql`update audit_log a set seq = v.seq, prev_hash = v.prev_hash, hash = v.hash
      from (values ${sql.join(chained)}) as v(id, seq, prev_hash, hash)
     where a.id = v.id and a.seq is null`.execute(trx);
    // A row gone or chained under us (never by this design): roll back rather than leave a gap.
    if (updated.numAffectedRows !== BigInt(pending.rows.length)) {
      throw new Error('audit chainer: a pending row changed while it was chained; nothing was chained');
    }
    await sql`update audit_chain_head set seq = ${seq}::bigint, prev_hash = ${prev}, hash = ${hash} where id = 1`.execute(
      trx,
    );
    return pending.rows.length;
  });
}

export interface AuditChainerDeps {
  readonly db: Kysely<Database>;
  readonly logger?: { error(details: object, message: string): void };
}

/**
 * Gives committed audit rows their place in the chain, after the writer's commit
 * (docs/DESIGN.md, "The audit hash chain"). `notify()` is what a writer calls once its
 * transaction committed: it returns at once (the writer's answer never waits for the chain)
 * and coalesces bursts — at most one run in flight per process and one queued behind it,
 * each run chaining batches until nothing is pending. A periodic sweep, on every instance,
 * chains what no trigger did (cheap when nothing is pending: the partial index of 0015).
 *
 * @example
 * const chainer = new AuditChainer({ db, logger });
 * chainer.start();
 * chainer.notify();          // after a commit that wrote audit rows
 * await chainer.chainNow();  // every row committed before this call is chained
 */
export class AuditChainer {
  readonly #deps: AuditChainerDeps;
  readonly #sweep: PeriodicTask;
  #running: Promise<void> | null = null;
  #queued = false;
  #closed = false;

  constructor(deps: AuditChainerDeps, options: { readonly sweepSeconds?: number } = {}) {
    this.#deps = deps;
    this.#sweep = new PeriodicTask({
      intervalSeconds: options.sweepSeconds ?? SWEEP_SECONDS,
      maxBackoffSeconds: 60,
      pass: () => this.chainNow(),
    });
  }

  /** Starts the periodic sweep (idempotent). */
  start(): void {
    this.#sweep.start();
  }

  /** A unit of work that wrote audit rows committed: chain them soon, without waiting. */
  notify(): void {
    if (!this.#closed) void this.chainNow();
  }

  /**
   * Chains every row pending when called (and any committed while it runs); resolves when
   * done. Never rejects: a failed run is logged and left to the next trigger or sweep.
   */
  chainNow(): Promise<void> {
    if (this.#running !== null) {
      this.#queued = true;
      return this.#running;
    }
    this.#running = this.#run();
    return this.#running;
  }

  /** Stops the sweep and waits for a run in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#sweep.close();
    await this.#running;
  }

  async #run(): Promise<void> {
    do {
      this.#queued = false;
      try {
        let chained = CHAIN_BATCH;
        while (chained === CHAIN_BATCH) chained = await chainPendingBatch(this.#deps.db);
      } catch (error) {
        this.#deps.logger?.error({ err: error }, 'audit chaining failed; the next trigger or sweep retries');
      }
    } while (this.#queued);
    // In the same synchronous step as the last look at #queued: a caller after it starts a new run.
    this.#running = null;
  }
}
