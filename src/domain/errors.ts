/**
 * One error channel. Every layer keeps this rule:
 *
 * - An expected failure is anything a client or an operator can cause: bad input, an
 *   unknown id, a wrong password, a stale token, a taken email, a cursor the list never
 *   issued. It is a `TokenwardenError` with a code from {@link ERROR_TABLE}, made here or
 *   by a factory here ({@link userNotFound}, {@link validationError}, {@link InvalidCursorError}).
 * - Every command handler and every query returns it as `err(...)` in a `Result`, and never
 *   throws it; so do ports the HTTP layer calls directly (webhook deliveries). A repository
 *   that finds bad input (a cursor it cannot decode) throws one, and the query returns it
 *   as `err(...)` (application's `asResult`).
 * - Only bugs and infrastructure faults throw (a lost database, a broken invariant). HTTP
 *   logs them and answers 500 `internal_error`; the CLI prints them and exits 1.
 * - HTTP routes unwrap a Result with route-kit's `unwrap`, which hands `err` to the one
 *   error handler that writes problem+json; a route never throws an error it built. Hooks
 *   (authentication, validation, the metrics token) fail the fastify way, by throwing a
 *   `TokenwardenError` to that same handler.
 * - The CLI unwraps with command-kit's `unwrap`: `validation_failed` exits 2, any other
 *   code 1 (`fromTokenwardenError`). `CliError` is only how the CLI presents a failure.
 * - Start-up and environment failures are not request failures and stay thrown, each its
 *   own class outside the table (a bad variable `ConfigError`, a failed migration, a data
 *   directory in use, a master key that cannot open the signing keys): they stop the
 *   process with one line naming the cause, and no client ever sees their code.
 */

/**
 * Every error code tokenwarden can answer with, in one table (as fastify keeps its
 * errors): the HTTP status and a stable title. The `code` string is the contract
 * clients switch on; the title is for people.
 */
const ERROR_TABLE = {
  bad_request: { status: 400, title: 'Bad request' },
  validation_failed: { status: 422, title: 'Validation failed' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  user_not_found: { status: 404, title: 'User not found' },
  session_not_found: { status: 404, title: 'Session not found' },
  signing_key_not_found: { status: 404, title: 'Signing key not found' },
  service_client_not_found: { status: 404, title: 'Service client not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  email_taken: { status: 409, title: 'Email already registered' },
  signing_key_active: { status: 409, title: 'Signing key is the active one' },
  signing_key_pinned: { status: 409, title: 'Signing key pinned by configuration' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  invalid_credentials: { status: 401, title: 'Invalid credentials' },
  token_invalid: { status: 401, title: 'Token invalid' },
  token_expired: { status: 401, title: 'Token expired' },
  token_revoked: { status: 401, title: 'Token revoked' },
  token_rotated: { status: 401, title: 'Token rotated' },
  token_reused: { status: 401, title: 'Token reused' },
  rate_limited: { status: 429, title: 'Too many requests' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
  internal_error: { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, { readonly status: number; readonly title: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** Every code, for the API schema of a problem's `code`. */
export const ERROR_CODES = Object.keys(ERROR_TABLE) as readonly ErrorCode[];

/** Extra members a problem carries beyond RFC 9457's own (e.g. `rejection`, `errors`). */
export type ProblemExtensions = Readonly<Record<string, unknown>>;

/**
 * An expected failure: handlers and queries return it inside `err(...)`, never throw it.
 * The HTTP layer turns it into `application/problem+json`.
 *
 * @example
 * return err(new TokenwardenError('email_taken', 'That email is already registered'));
 */
export class TokenwardenError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly extensions: ProblemExtensions;

  constructor(
    code: ErrorCode,
    detail?: string,
    extensions: ProblemExtensions = {},
    options?: { readonly cause?: unknown },
  ) {
    const entry = ERROR_TABLE[code];
    super(detail ?? entry.title, options);
    this.name = 'TokenwardenError';
    this.code = code;
    this.status = entry.status;
    this.title = entry.title;
    this.extensions = extensions;
  }
}

/** What a {@link ServiceUnavailableError} could not reach (null: the request ran out of time). */
export type UnavailableDependency = 'database' | 'redis' | 'revocation_log' | null;

/**
 * A part tokenwarden depends on is down, refusing, read-only, full or too slow: the
 * request was not served and may be sent again after `retryAfterSeconds` (HTTP: 503 with
 * `Retry-After`). It is an infrastructure fault, so it is thrown, not returned; its
 * `cause` keeps the driver's error for the log and never reaches a client.
 *
 * @example
 * throw new ServiceUnavailableError('database', 'The database did not answer in time', { cause: error });
 */
export class ServiceUnavailableError extends TokenwardenError {
  readonly dependency: UnavailableDependency;
  readonly retryAfterSeconds: number;

  constructor(
    dependency: UnavailableDependency,
    detail: string,
    options: { readonly cause?: unknown; readonly retryAfterSeconds?: number } = {},
  ) {
    const retryAfterSeconds = options.retryAfterSeconds ?? 2;
    super(
      'service_unavailable',
      detail,
      { ...(dependency === null ? {} : { dependency }), retryAfterSeconds },
      { cause: options.cause },
    );
    this.name = 'ServiceUnavailableError';
    this.dependency = dependency;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** One failed field of a validation problem: a JSON pointer-ish path and why. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export function validationError(
  errors: readonly FieldError[],
  detail = 'The request is not valid',
): TokenwardenError {
  return new TokenwardenError('validation_failed', detail, { errors });
}

/**
 * No user has this id: the one answer handlers, queries and routes give. `named: 'id or
 * email'` is for lookups by what an operator typed (the CLI), and says so.
 *
 * @example
 * if (user === null) return err(userNotFound(command.userId));
 */
export function userNotFound(key: string, named: 'id' | 'id or email' = 'id'): TokenwardenError {
  return named === 'id'
    ? new TokenwardenError('user_not_found', `No user with id ${key}`)
    : new TokenwardenError('user_not_found', `no user with id or email ${JSON.stringify(key)}`);
}

/**
 * A list was asked to continue from a cursor it did not issue: a client error, so it
 * is a `validation_failed` problem (422) naming the `cursor` parameter. Repositories
 * throw it while decoding; queries return it as `err(...)`.
 */
export class InvalidCursorError extends TokenwardenError {
  constructor(cursor: string) {
    super('validation_failed', `invalid pagination cursor ${JSON.stringify(cursor.slice(0, 100))}`, {
      errors: [{ path: '/cursor', message: 'is not a cursor this list issued' }],
    });
    this.name = 'InvalidCursorError';
  }
}
