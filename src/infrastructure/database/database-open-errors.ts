import { errorSummary } from '../../domain/error-summary.js';
/**
 * The configured database holds no tokenwarden tables (a PGlite directory that does not
 * exist or is not a database, a PostgreSQL schema without the migration table), and
 * the caller asked not to create them: an operator command on a mistyped path.
 */
export class DatabaseNotInitialisedError extends Error {
  readonly code = 'database_not_initialised';

  constructor(readonly where: string) {
    super(`${where} holds no tokenwarden database`);
    this.name = 'DatabaseNotInitialisedError';
  }
}

/** The PostgreSQL server could not be reached or refused the connection. */
export class DatabaseUnreachableError extends Error {
  readonly code = 'database_unreachable';
  /**
   * Whether trying again later can succeed: the server is not up yet (refused, no such host
   * yet, timed out, starting up). A refused password or a missing database is not.
   */
  readonly mayComeUp: boolean;

  constructor(
    readonly where: string,
    cause: unknown,
  ) {
    super(`cannot connect to ${where}: ${errorSummary(cause)}`, { cause });
    this.name = 'DatabaseUnreachableError';
    this.mayComeUp = mayComeUp(cause);
  }
}

/** Socket errors of a server not listening yet, and SQLSTATE 57P03 (cannot_connect_now: starting up). */
const NOT_UP_YET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '57P03',
]);

function mayComeUp(cause: unknown): boolean {
  if (cause instanceof AggregateError) return cause.errors.some(mayComeUp);
  if (!(cause instanceof Error)) return false;
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string') return NOT_UP_YET.has(code);
  // node-postgres's own connection timeout, and a connection closed before the server spoke
  // (a proxy or pooler up before PostgreSQL), carry no code.
  return /timeout|Connection terminated/i.test(cause.message);
}
