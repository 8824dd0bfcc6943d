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

  constructor(
    readonly where: string,
    cause: unknown,
  ) {
    super(`cannot connect to ${where}: ${describeCause(cause)}`, { cause });
    this.name = 'DatabaseUnreachableError';
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof AggregateError && cause.errors.length > 0) return describeCause(cause.errors[0]);
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  const message = cause.message.split('\n')[0] || cause.name;
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}
