import { setTimeout as sleep } from 'node:timers/promises';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../database/schema.js';

/** Who may deliver: one relay at a time over one database. */
export interface RelayLock {
  /** Whether this relay holds the lock now, taking it if it is free. Never throws. */
  acquire(): Promise<boolean>;
  /** Lets go (idempotent). */
  release(): Promise<void>;
}

// The advisory-lock key is (class, hashtext(current_schema())): instances sharing a
// schema share the lock; separate schemas (tests, tenants) do not block each other.
const LOCK_CLASS = 0x7477_6831; // 'twh1'

/**
 * A PostgreSQL session advisory lock, held on one pooled connection reserved for as
 * long as the lock is held. The server frees the lock when that connection dies, so a
 * crashed instance never keeps the others from delivering; a heartbeat on the
 * connection notices a dead one and lets the next `acquire` try again.
 */
class PostgresAdvisoryLock implements RelayLock {
  readonly #db: Kysely<Database>;
  readonly #heartbeatMs: number;
  #held = false;
  #acquiring: Promise<boolean> | null = null;
  #session: Promise<void> | null = null;
  #stop: AbortController | null = null;

  constructor(db: Kysely<Database>, options: { readonly heartbeatMs?: number } = {}) {
    this.#db = db;
    this.#heartbeatMs = options.heartbeatMs ?? 10_000;
  }

  acquire(): Promise<boolean> {
    if (this.#held) return Promise.resolve(true);
    this.#acquiring ??= this.#tryAcquire().finally(() => {
      this.#acquiring = null;
    });
    return this.#acquiring;
  }

  #tryAcquire(): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const stop = new AbortController();
      this.#session = this.#db
        .connection()
        .execute(async (conn) => {
          const { rows } = await sql<{ locked: boolean }>`
            select pg_try_advisory_lock(${LOCK_CLASS}::int, hashtext(current_schema())) as locked`.execute(
            conn,
          );
          if (rows[0]?.locked !== true) {
            resolve(false);
            return;
          }
          this.#held = true;
          this.#stop = stop;
          resolve(true);
          try {
            while (!stop.signal.aborted) {
              await sleep(this.#heartbeatMs, undefined, { signal: stop.signal }).catch(() => {});
              if (!stop.signal.aborted) await sql`select 1`.execute(conn);
            }
          } finally {
            this.#held = false;
            await sql`select pg_advisory_unlock(${LOCK_CLASS}::int, hashtext(current_schema()))`
              .execute(conn)
              .catch(() => {});
          }
        })
        .catch(() => {
          // No connection, or the held one died: the server has freed the lock.
          this.#held = false;
          resolve(false);
        });
    });
  }

  async release(): Promise<void> {
    this.#stop?.abort();
    this.#stop = null;
    await this.#session;
    this.#session = null;
  }
}

// One holder per PGlite database, so two relays in one process still take turns.
const processHolders = new WeakMap<Kysely<Database>, object>();

/**
 * PGlite is one process's private database: there is no other instance to exclude,
 * and holding its single connection for a lock would stall every request. An
 * in-process lock keeps two relays over the same handle from both delivering.
 */
class ProcessLock implements RelayLock {
  readonly #db: Kysely<Database>;
  readonly #token = {};

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async acquire(): Promise<boolean> {
    const holder = processHolders.get(this.#db);
    if (holder === undefined) processHolders.set(this.#db, this.#token);
    return processHolders.get(this.#db) === this.#token;
  }

  async release(): Promise<void> {
    if (processHolders.get(this.#db) === this.#token) processHolders.delete(this.#db);
  }
}

/** The lock that fits the database: advisory on PostgreSQL, in-process on PGlite. */
export async function createRelayLock(db: Kysely<Database>): Promise<RelayLock> {
  const { rows } = await sql<{ version: string }>`select version() as version`.execute(db);
  return rows[0]?.version.includes('PGlite') === true ? new ProcessLock(db) : new PostgresAdvisoryLock(db);
}
