import type { PGliteInterface } from '@electric-sql/pglite';
import {
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
} from 'kysely';
import { PGliteDriver } from './pglite-driver.js';

export interface PGliteDialectOptions {
  /** Close the PGlite instance when kysely is destroyed. Default true. */
  readonly closeOnDestroy?: boolean;
  /** Called once the instance is ready, before the first query. */
  readonly onOpen?: () => Promise<void>;
}

/**
 * Kysely over an embedded PGlite: PostgreSQL SQL, one queued connection.
 *
 * Because there is one connection, code inside `db.transaction().execute(trx => …)`
 * must use `trx`, never the outer `db`: the outer one would wait for the
 * transaction that is waiting for it.
 *
 * @example
 * const db = new Kysely<Database>({ dialect: new PGliteDialect('memory://') });
 */
export class PGliteDialect implements Dialect {
  readonly #pglite: PGliteInterface | string;
  readonly #options: PGliteDialectOptions;

  /** @param pglite a PGlite instance, or a data directory (`memory://` for in-memory) */
  constructor(pglite: PGliteInterface | string, options: PGliteDialectOptions = {}) {
    this.#pglite = pglite;
    this.#options = options;
  }

  createDriver(): Driver {
    return new PGliteDriver({ ...this.#options, pglite: this.#pglite });
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  // biome-ignore lint/suspicious/noExplicitAny: kysely's Dialect interface takes Kysely<any>
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}
