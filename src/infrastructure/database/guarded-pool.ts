import type { PostgresCursor, PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { asUnavailable, databaseFault, QueryTimeoutError } from './database-faults.js';
import { destroySocket } from './destroy-socket.js';
import { preparedName } from './prepared-statements.js';

export interface GuardedPoolOptions {
  /** Send statements marked PREPARED (prepared-statements.ts) named. */
  readonly prepared: boolean;
  /**
   * A query with no answer after this long fails and its connection is destroyed (null:
   * no bound). Set above the server's statement_timeout: the server cancels a slow
   * statement first, and this catches what it cannot, a connection that went silent.
   */
  readonly queryTimeoutMs: number | null;
}

/**
 * The pool as kysely's PostgresDialect sees it, with three guards on every query:
 *
 * - a query that gets no answer within `queryTimeoutMs` fails, and its socket is destroyed
 *   (node-postgres' own `query_timeout` leaves the connection in use, so a late answer
 *   would be read as the next query's);
 * - a connection that showed a fault (dropped, terminated, read-only) is destroyed when
 *   released instead of going back to the pool, and so is every connection opened before
 *   it, so recovery is immediate once the database is back;
 * - errors that mean "the database is unavailable" become `ServiceUnavailableError`
 *   (HTTP 503 with Retry-After), database-faults.ts decides which.
 *
 * One wrapper per pg client, kept while the client lives: kysely keys its connection
 * objects by the client it is given.
 *
 * @example
 * new PostgresDialect({ pool: guardedPool(pool, { prepared: true, queryTimeoutMs: 6_000 }) });
 */
export function guardedPool(pool: pg.Pool, options: GuardedPoolOptions): PostgresPool {
  /**
   * One wrapper per client, and whether the client is unfit: it showed a fault, or is older
   * than the last one that did.
   */
  const guards = new WeakMap<pg.PoolClient, { readonly wrapper: PostgresPoolClient; retired(): boolean }>();
  // A fault that discards one connection (a failover, a restart, read-only) is usually true of
  // every connection opened before it: those still idle are not handed out again either.
  let faults = 0;
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    const known = guards.get(client);
    if (known !== undefined) return known.wrapper;
    const bornAfter = faults;
    let broken = false;
    const retire = () => {
      if (broken) return;
      broken = true;
      faults += 1;
    };
    const retired = () => broken || bornAfter < faults;
    const send = (text: string, parameters: readonly unknown[] | undefined): Promise<unknown> => {
      const values = parameters === undefined ? [] : [...parameters];
      const name = options.prepared ? preparedName(text) : null;
      return name === null ? client.query(text, values) : client.query({ name, text, values });
    };
    const guarded = async (text: string, parameters: readonly unknown[] | undefined): Promise<unknown> => {
      if (broken) throw asUnavailable(new Error('Client was closed and is not queryable'));
      let timer: NodeJS.Timeout | undefined;
      try {
        const running = send(text, parameters);
        if (options.queryTimeoutMs === null) return await running;
        const timeoutMs = options.queryTimeoutMs;
        return await Promise.race([
          running,
          new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => {
              retire();
              // The late answer must never be read as another query's: the socket goes.
              destroySocket(client);
              running.catch(() => {});
              reject(new QueryTimeoutError(timeoutMs));
            }, timeoutMs);
          }),
        ]);
      } catch (error) {
        if (databaseFault(error)?.discard === true) retire();
        throw asUnavailable(error);
      } finally {
        clearTimeout(timer);
      }
    };
    const wrapper: PostgresPoolClient = {
      query: ((textOrCursor: string | PostgresCursor<unknown>, parameters?: readonly unknown[]) => {
        if (typeof textOrCursor !== 'string') return client.query(textOrCursor as never);
        return guarded(textOrCursor, parameters);
      }) as unknown as PostgresPoolClient['query'],
      release: (destroy?: boolean) => client.release(destroy === true || retired()),
    };
    guards.set(client, { wrapper, retired });
    return wrapper;
  };
  return {
    connect: async () => {
      try {
        // Connections retired while idle are closed here, a fresh one taken in their place.
        for (let skipped = 0; ; skipped++) {
          const client = await pool.connect();
          if (guards.get(client)?.retired() !== true || skipped >= pool.options.max) return wrap(client);
          client.release(true);
        }
      } catch (error) {
        throw asUnavailable(error);
      }
    },
    end: () => pool.end(),
  };
}
