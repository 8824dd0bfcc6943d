import { randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import { type Kysely, sql } from 'kysely';
import { EventType } from '../../application/events.js';
import type { Clock } from '../../application/ports/clock.js';
import { signCheckpoint } from '../../domain/audit-checkpoint.js';
import type { AuditCheckpointKeyStore } from '../crypto/audit-checkpoint-key-store.js';
import { runAsLeader } from '../database/relay-lock.js';
import type { Database } from '../database/schema.js';
import { PeriodicTask } from '../scheduling/periodic-task.js';

/** The checkpointer's advisory-lock class: one instance signs at a time, apart from the relay's and the pruner's. */
const CHECKPOINT_LOCK_CLASS = 0x7477_6331; // 'twc1'

/** The longest a new row waits before the checkpointer looks at the head again (seconds). */
const MAX_CHECK_SECONDS = 5;

/** A checkpoint as signed, stored and sent out. */
export interface SignedCheckpoint {
  readonly seq: number;
  readonly hash: string;
  /** When it was signed, ISO-8601 (the payload's `at`). */
  readonly at: string;
  readonly kid: string;
  /** The compact JWS. */
  readonly checkpoint: string;
}

export interface AuditCheckpointerDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly keys: AuditCheckpointKeyStore;
  /** Chains the rows committed so far before a pass looks at the head (the chainer's `chainNow`). */
  readonly chainer?: { chainNow(): Promise<void> };
  readonly logger?: {
    info(details: object, message: string): void;
    error(details: object, message: string): void;
  };
}

export interface AuditCheckpointerOptions {
  /** Sign once this many rows were chained since the last checkpoint (TOKENWARDEN_AUDIT_CHECKPOINT_ROWS). */
  readonly rows: number;
  /** …or once the oldest row no checkpoint covers is this old (TOKENWARDEN_AUDIT_CHECKPOINT_SECONDS). */
  readonly seconds: number;
  /** Append each checkpoint to this file too (TOKENWARDEN_AUDIT_CHECKPOINT_FILE). */
  readonly file: string | null;
}

/**
 * Signs the audit chain's head and sends the checkpoint out of the database (docs/AUDIT.md,
 * "Checkpoints"): stored in `audit_checkpoints` together with an `AuditCheckpointSigned`
 * outbox event (one transaction, so the webhook relay delivers it), then logged at info with
 * the JWS and appended to the checkpoint file when one is configured. A pass signs only when
 * the head moved: `rows` rows past the last checkpoint, or its first uncovered row `seconds`
 * old. One instance at a time (a session advisory lock on PostgreSQL, as the pruner's; an
 * in-process lock on PGlite), and `seq` is the table's key, so no seq is ever signed twice.
 *
 * @example
 * const checkpointer = new AuditCheckpointer({ db, clock, keys, logger }, { rows: 1000, seconds: 300, file: null });
 * checkpointer.start();
 * await checkpointer.runOnce(); // { leader: true, signed: { seq, hash, at, kid, checkpoint } | null }
 */
export class AuditCheckpointer {
  readonly #deps: AuditCheckpointerDeps;
  readonly #options: AuditCheckpointerOptions;
  readonly #loop: PeriodicTask;

  constructor(deps: AuditCheckpointerDeps, options: AuditCheckpointerOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#loop = new PeriodicTask({
      intervalSeconds: Math.min(options.seconds, MAX_CHECK_SECONDS),
      maxBackoffSeconds: 300,
      pass: () => this.#pass(),
      onError: (error) =>
        deps.logger?.error({ err: error }, 'audit checkpoint pass failed; retrying at the next interval'),
    });
  }

  /** Starts the background loop (idempotent). */
  start(): void {
    this.#loop.start();
  }

  /** One pass now: whether this instance led it, and the checkpoint it signed (null: none was due). */
  runOnce(): Promise<{ readonly leader: boolean; readonly signed: SignedCheckpoint | null }> {
    return this.#loop.runNow(() => this.#pass());
  }

  /** Stops the loop and waits for a pass in flight. */
  close(): Promise<void> {
    return this.#loop.close();
  }

  async #pass(): Promise<{ leader: boolean; signed: SignedCheckpoint | null }> {
    // Only the chained head is signed: rows still pending wait for a later checkpoint.
    await this.#deps.chainer?.chainNow();
    const pass = await runAsLeader(this.#deps.db, CHECKPOINT_LOCK_CLASS, (db) => this.#signIfDue(db));
    if (!pass.leader) return { leader: false, signed: null };
    const signed = pass.value;
    if (signed !== null) await this.#sendOut(signed);
    return { leader: true, signed };
  }

  async #signIfDue(db: Kysely<Database>): Promise<SignedCheckpoint | null> {
    const head = await db
      .selectFrom('audit_chain_head')
      .select(['seq', 'hash'])
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    const seq = Number(head.seq);
    const last = await db
      .selectFrom('audit_checkpoints')
      .select('seq')
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const lastSeq = last === undefined ? 0 : Number(last.seq);
    if (seq <= lastSeq) return null;
    const now = this.#deps.clock.now();
    if (seq - lastSeq < this.#options.rows) {
      const oldest = await db
        .selectFrom('audit_log')
        .select('occurred_at')
        .where(sql<boolean>`seq > ${lastSeq}::bigint`)
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst();
      if (
        oldest !== undefined &&
        now.getTime() - oldest.occurred_at.getTime() < this.#options.seconds * 1000
      ) {
        return null;
      }
    }
    const key = await this.#deps.keys.key();
    const at = now.toISOString();
    const jws = signCheckpoint({ seq, hash: head.hash, at, kid: key.kid }, key.privateKey);
    const signed: SignedCheckpoint = { seq, hash: head.hash, at, kid: key.kid, checkpoint: jws };
    const stored = await db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('audit_checkpoints')
        .values({ seq: String(seq), hash: head.hash, signed_at: now, kid: key.kid, jws })
        .onConflict((oc) => oc.column('seq').doNothing())
        .returning('seq')
        .executeTakeFirst();
      if (inserted === undefined) return false;
      await trx
        .insertInto('outbox')
        .values({
          id: randomUUID(),
          event_type: EventType.AuditCheckpointSigned,
          payload: JSON.stringify(signed),
          occurred_at: now,
          next_attempt_at: now,
        })
        .execute();
      return true;
    });
    return stored ? signed : null;
  }

  /** The log line and the file line, after the commit: what is sent out is always stored too. */
  async #sendOut(signed: SignedCheckpoint): Promise<void> {
    this.#deps.logger?.info(signed, `audit checkpoint signed at seq ${signed.seq}`);
    const file = this.#options.file;
    if (file === null) return;
    try {
      const handle = await open(file, 'a', 0o600);
      try {
        await handle.appendFile(`${JSON.stringify(signed)}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      this.#deps.logger?.error(
        { err: error, file, seq: signed.seq },
        'audit checkpoint not appended to TOKENWARDEN_AUDIT_CHECKPOINT_FILE (it is stored, logged and sent as an event)',
      );
    }
  }
}
