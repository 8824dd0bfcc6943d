import { PGlite, type PGliteInterface } from '@electric-sql/pglite';
import {
  AbortedTransactionError,
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type TransactionSettings,
} from 'kysely';
import { AsyncMutex } from './async-mutex.js';
import { PGliteConnection } from './pglite-connection.js';

export interface PGliteDriverConfig {
  /** A PGlite instance, or a data directory (`memory://` for in-memory) to open one in. */
  readonly pglite: PGliteInterface | string;
  /** Close the PGlite instance when kysely is destroyed. Default true. */
  readonly closeOnDestroy?: boolean;
  /** Called once the instance is ready, before the first query. */
  readonly onOpen?: () => Promise<void>;
}

/**
 * PGlite is one single-user backend: there is exactly one connection. Kysely
 * acquires it for a query or for a whole transaction, and every other caller waits
 * on the mutex, so a transaction's statements never interleave with anyone else's.
 */
export class PGliteDriver implements Driver {
  readonly #config: PGliteDriverConfig;
  readonly #mutex = new AsyncMutex();
  #pglite: PGliteInterface | undefined;
  #connection: PGliteConnection | undefined;
  #release: (() => void) | undefined;
  #destroyed = false;

  constructor(config: PGliteDriverConfig) {
    this.#config = Object.freeze({ ...config });
  }

  async init(): Promise<void> {
    const source = this.#config.pglite;
    const pglite = typeof source === 'string' ? await PGlite.create(source) : source;
    await pglite.waitReady;
    await this.#config.onOpen?.();
    this.#pglite = pglite;
    this.#connection = new PGliteConnection(pglite);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.#mutex.acquire();
    const connection = this.#connection;
    if (this.#destroyed || connection === undefined) {
      release();
      throw new Error('PGliteDriver has been destroyed or was never initialised');
    }
    this.#release = release;
    return connection;
  }

  async releaseConnection(_connection: DatabaseConnection): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let statement = 'begin';
    if (settings.isolationLevel !== undefined || settings.accessMode !== undefined) {
      statement = 'start transaction';
      if (settings.isolationLevel !== undefined) statement += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode !== undefined) statement += ` ${settings.accessMode}`;
    }
    await connection.executeQuery(CompiledQuery.raw(statement));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const { rows } = await connection.executeQuery<{ command?: string }>(CompiledQuery.raw('commit'));
    // PostgreSQL answers COMMIT with ROLLBACK when an earlier statement aborted the transaction.
    if (rows[0]?.command === 'ROLLBACK') throw new AbortedTransactionError();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(
    connection: DatabaseConnection,
    name: string,
    _compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`));
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    _compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdentifier(name)}`));
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    _compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdentifier(name)}`));
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    // Wait for the current holder (a transaction in flight) before closing.
    const release = await this.#mutex.acquire();
    try {
      this.#destroyed = true;
      const pglite = this.#pglite;
      this.#pglite = undefined;
      this.#connection = undefined;
      if (pglite !== undefined && !pglite.closed && (this.#config.closeOnDestroy ?? true)) {
        await pglite.close();
      }
    } finally {
      release();
    }
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
