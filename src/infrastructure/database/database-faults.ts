import { ServiceUnavailableError } from '../../domain/errors.js';

/**
 * How a failed query's error says the database is unavailable (docs/RELIABILITY.md,
 * "Faults"): `unavailable` errors answer 503 instead of 500; `discard` ones also mean
 * the connection itself is no longer trustworthy (dropped, terminated, or left
 * read-only by a server that became a standby), so the pool must not hand it out again.
 */
export interface DatabaseFault {
  readonly discard: boolean;
  readonly detail: string;
}

/** SQLSTATE classes and codes that mean "not now", not "wrong request" (PostgreSQL appendix A). */
const UNAVAILABLE_CODES: Readonly<Record<string, DatabaseFault>> = {
  // Class 08: the connection failed.
  '08000': { discard: true, detail: 'the connection to the database failed' },
  '08003': { discard: true, detail: 'the connection to the database failed' },
  '08006': { discard: true, detail: 'the connection to the database failed' },
  '08001': { discard: true, detail: 'the database refused the connection' },
  '08004': { discard: true, detail: 'the database refused the connection' },
  // Read-only: a standby, or default_transaction_read_only, which a connection keeps from its start.
  '25006': { discard: true, detail: 'the database is read-only' },
  '25P03': { discard: true, detail: 'a transaction stayed idle past its timeout' },
  '25P04': { discard: true, detail: 'a transaction ran past its timeout' },
  '53000': { discard: false, detail: 'the database is out of resources' },
  '53100': { discard: false, detail: 'the database is out of disk space' },
  '53200': { discard: false, detail: 'the database is out of memory' },
  '53300': { discard: true, detail: 'the database has too many connections' },
  '53400': { discard: false, detail: 'the database hit a configured limit' },
  '55P03': { discard: false, detail: 'a lock was not granted in time' },
  '57014': { discard: false, detail: 'a statement ran past its timeout' },
  '57P01': { discard: true, detail: 'the database is shutting down' },
  '57P02': { discard: true, detail: 'the database is shutting down' },
  '57P03': { discard: true, detail: 'the database is starting up or not accepting connections' },
  '57P05': { discard: true, detail: 'the connection was idle too long' },
  '58000': { discard: false, detail: 'the database had a system error' },
  '58030': { discard: false, detail: 'the database had an I/O error' },
  // Serialization failures and deadlocks are retried by the unit of work; past its attempts, "try again".
  '40001': { discard: false, detail: 'the database kept aborting the transaction under contention' },
  '40P01': { discard: false, detail: 'the database kept aborting the transaction under contention' },
};

/** Socket errors (no SQLSTATE) of a connection that is gone or never came. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * The drivers' own messages for a connection lost, never made, or not handed out in time
 * (node-postgres), or an embedded database already closed (PGlite).
 */
const DRIVER_MESSAGES = [
  /^PGlite is clos(ed|ing)$/,
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /is not queryable/,
  /^Client was closed/,
  /^Query read timeout/,
  /^Connection ended/,
];

/** Thrown by the guarded pool when a query got no answer in time (the connection is then destroyed). */
export class QueryTimeoutError extends Error {
  readonly code = 'TW_QUERY_TIMEOUT';

  constructor(timeoutMs: number) {
    super(`the database did not answer within ${timeoutMs} ms`);
    this.name = 'QueryTimeoutError';
  }
}

/** The fault `error` shows, or null when it is an ordinary error (a bug, a constraint). */
export function databaseFault(error: unknown): DatabaseFault | null {
  if (error instanceof QueryTimeoutError)
    return { discard: true, detail: 'the database did not answer in time' };
  if (typeof error !== 'object' || error === null) return null;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    const known = UNAVAILABLE_CODES[code];
    if (known !== undefined) return known;
    if (code.startsWith('08')) return { discard: true, detail: 'the connection to the database failed' };
    if (SOCKET_CODES.has(code)) return { discard: true, detail: 'the database cannot be reached' };
  }
  const message = (error as { message?: unknown }).message;
  if (typeof message === 'string' && DRIVER_MESSAGES.some((pattern) => pattern.test(message))) {
    return { discard: true, detail: 'the database cannot be reached' };
  }
  return null;
}

/**
 * `error` as a {@link ServiceUnavailableError} when it shows the database unavailable,
 * else `error` itself. Idempotent.
 *
 * @example
 * try { … } catch (error) { throw asUnavailable(error); }
 */
export function asUnavailable(error: unknown): unknown {
  if (error instanceof ServiceUnavailableError) return error;
  const fault = databaseFault(error);
  if (fault === null) return error;
  return new ServiceUnavailableError('database', `Temporarily unavailable: ${fault.detail}`, {
    cause: error,
  });
}
