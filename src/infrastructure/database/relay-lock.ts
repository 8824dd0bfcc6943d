import { setTimeout as sleep } from 'node:timers/promises';
import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

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

/** The pruner's advisory-lock class: one pass at a time across instances, apart from the relay's lock. */
export const PRUNER_LOCK_CLASS = 0x7477_7031; // 'twp1'

// Jobs of this process that hold their class's in-process lock, per PGlite handle.
const processJobs = new WeakMap<Kysely<Database>, Set<number>>();
const pgliteHandles = new WeakMap<Kysely<Database>, Promise<boolean>>();

/** The outcome of {@link runAsLeader}: the work's value, or that another instance held the lock. */
export type Leadership<T> = { readonly leader: true; readonly value: T } | { readonly leader: false };

/**
 * Runs `work` only if no other instance is running work of the same `lockClass` now,
 * with the relay's mechanism: a PostgreSQL session advisory lock keyed by
 * (class, schema), here held on one connection for the length of `work`, which runs
 * its statements on that same connection (so it needs no second pooled connection),
 * and freed by the server should the process die. On PGlite (one process) an
 * in-process lock, and `work` gets the shared handle so requests interleave with it.
 *
 * @example
 * const pass = await runAsLeader(db, PRUNER_LOCK_CLASS, (conn) => prune(conn));
 * if (!pass.leader) log('another instance is pruning');
 */
export async function runAsLeader<T>(
  db: Kysely<Database>,
  lockClass: number,
  work: (db: Kysely<Database>) => Promise<T>,
): Promise<Leadership<T>> {
  let isPglite = pgliteHandles.get(db);
  if (isPglite === undefined) {
    isPglite = sql<{ version: string }>`select version() as version`
      .execute(db)
      .then(({ rows }) => rows[0]?.version.includes('PGlite') === true);
    pgliteHandles.set(db, isPglite);
  }
  if (await isPglite) {
    const held = processJobs.get(db) ?? new Set<number>();
    processJobs.set(db, held);
    if (held.has(lockClass)) return { leader: false };
    held.add(lockClass);
    try {
      return { leader: true, value: await work(db) };
    } finally {
      held.delete(lockClass);
    }
  }
  return db.connection().execute(async (conn): Promise<Leadership<T>> => {
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_lock(${lockClass}::int, hashtext(current_schema())) as locked`.execute(conn);
    if (rows[0]?.locked !== true) return { leader: false };
    try {
      return { leader: true, value: await work(conn) };
    } finally {
      await sql`select pg_advisory_unlock(${lockClass}::int, hashtext(current_schema()))`
        .execute(conn)
        .catch(() => {});
    }
  });
}
