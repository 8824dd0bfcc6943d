import type { PGliteInterface, QueryOptions, Results } from '@electric-sql/pglite';
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely';
import { asUnavailable } from './database-faults.js';
import { stripQueryParameters } from './redact-database-error.js';

const INT8_OID = 20;

/**
 * Per-query options: rows as objects, and int8 (bigserial ids, `count(*)`) as a
 * string, as node-postgres returns it, so the same `Database` types hold on both.
 * PGlite's own default parses int8 to a number, losing precision past 2^53.
 */
const QUERY_OPTIONS: QueryOptions = {
  rowMode: 'object',
  parsers: { [INT8_OID]: (value: string) => value },
};

const ROW_COUNT_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** The one connection a {@link PGliteDriver} hands out, one holder at a time. */
export class PGliteConnection implements DatabaseConnection {
  readonly #pglite: PGliteInterface;

  constructor(pglite: PGliteInterface) {
    this.#pglite = pglite;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    let result: Results<R>;
    try {
      result = await this.#pglite.query<R>(compiledQuery.sql, [...compiledQuery.parameters], QUERY_OPTIONS);
    } catch (error) {
      // PGlite attaches the statement's parameters to its errors (node-postgres does not):
      // whoever logs the error would log a password hash or a token hash with it.
      stripQueryParameters(error);
      // A closed instance (the server shutting down, a request still in flight) is "not now",
      // answered 503 like a dropped PostgreSQL connection, not a 500.
      throw asUnavailable(error);
    }
    const command = result.command?.toUpperCase();
    if (command === 'COMMIT' || command === 'ROLLBACK') {
      // Lets the driver see a COMMIT that PostgreSQL completed as a ROLLBACK.
      return { rows: [{ command } as R] };
    }
    if (command !== undefined && ROW_COUNT_COMMANDS.has(command)) {
      return { rows: result.rows, numAffectedRows: BigInt(result.rowCount ?? result.affectedRows ?? 0) };
    }
    return { rows: result.rows };
  }

  // biome-ignore lint/correctness/useYield: streaming is not supported, the generator only throws
  async *streamQuery<R>(
    _compiledQuery: CompiledQuery,
    _chunkSize?: number,
  ): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGliteConnection does not support streamQuery');
  }
}
