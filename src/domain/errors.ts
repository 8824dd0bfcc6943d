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
 *   logs them and answers 500 `internal_error`; the CLI prints them and exits 1. A
 *   dependency that is unavailable throws {@link ServiceUnavailableError}: 503, not 500.
 * - HTTP routes unwrap a Result with route-kit's `unwrap`, which hands `err` to the one
 *   error handler, which writes problem+json, or RFC 6749 §5.2 JSON on the OAuth routes
 *   (each code's `oauth` form below). Hooks (authentication, validation, the metrics token)
 *   and the OAuth routes' client authentication, which runs inside their handlers, fail the
 *   fastify way, by throwing a `TokenwardenError` to that same handler.
 * - The CLI unwraps with command-kit's `unwrap`: `validation_failed` exits 2, any other
 *   code 1 (`fromTokenwardenError`). `CliError` is only how the CLI presents a failure.
 * - Start-up and environment failures are not request failures and stay thrown, each its
 *   own class outside the table (a bad variable `ConfigError`, a failed migration, a data
 *   directory in use, a master key that cannot open the signing keys): they stop the
 *   process with one line naming the cause, and no client ever sees their code.
 */

/**
 * How a code reads on the OAuth routes (RFC 6749 §5.2): its `error`, the status when the
 * RFC wants another one, at the token endpoint (`grant`) the code a refused refresh token
 * is there, and whether tokenwarden's own `code` rides along to say why.
 */
interface OAuthForm {
  readonly error: string;
  readonly status?: number;
  readonly grant?: { readonly error: string; readonly status: number };
  readonly withCode?: true;
}

// At the token endpoint a refused refresh token is the grant's fault (RFC 6749 §5.2);
// elsewhere it was the caller's bearer credential (RFC 6750).
const TOKEN_REFUSED: OAuthForm = {
  error: 'invalid_token',
  grant: { error: 'invalid_grant', status: 400 },
  withCode: true,
};
// The RFC 6749 code for "try again later".
const TRY_LATER: OAuthForm = { error: 'temporarily_unavailable' };
// A malformed request, which an OAuth client expects as 400 whatever fastify said.
const MALFORMED: OAuthForm = { error: 'invalid_request', status: 400 };

/**
 * Every error code tokenwarden can answer with, in one table (as fastify keeps its
 * errors): the HTTP status, a stable title, and its RFC 6749 form on the OAuth routes
 * (none: `invalid_request`, or `server_error` from 500 up). The `code` string is the
 * contract clients switch on; the title is for people. The RFC 6749 codes tokenwarden
 * raises itself are codes here too.
 */
const ERROR_TABLE = {
  bad_request: { status: 400, title: 'Bad request', oauth: MALFORMED },
  validation_failed: { status: 422, title: 'Validation failed', oauth: MALFORMED },
  unauthorized: { status: 401, title: 'Unauthorized', oauth: { error: 'invalid_client' } },
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
  payload_too_large: { status: 413, title: 'Payload too large', oauth: { error: 'invalid_request' } },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', oauth: MALFORMED },
  invalid_credentials: { status: 401, title: 'Invalid credentials' },
  token_invalid: { status: 401, title: 'Token invalid', oauth: TOKEN_REFUSED },
  token_expired: { status: 401, title: 'Token expired', oauth: TOKEN_REFUSED },
  token_revoked: { status: 401, title: 'Token revoked', oauth: TOKEN_REFUSED },
  token_rotated: { status: 401, title: 'Token rotated', oauth: TOKEN_REFUSED },
  token_reused: { status: 401, title: 'Token reused', oauth: TOKEN_REFUSED },
  rate_limited: { status: 429, title: 'Too many requests', oauth: TRY_LATER },
  service_unavailable: { status: 503, title: 'Service unavailable', oauth: TRY_LATER },
  internal_error: { status: 500, title: 'Internal server error', oauth: { error: 'server_error' } },
  // RFC 6749 §5.2 and RFC 7009 §2.2.1, raised by the OAuth routes.
  invalid_request: { status: 400, title: 'Invalid request', oauth: { error: 'invalid_request' } },
  invalid_client: { status: 401, title: 'Invalid client', oauth: { error: 'invalid_client' } },
  unauthorized_client: { status: 400, title: 'Unauthorized client', oauth: { error: 'unauthorized_client' } },
  unsupported_grant_type: {
    status: 400,
    title: 'Unsupported grant type',
    oauth: { error: 'unsupported_grant_type' },
  },
  unsupported_token_type: {
    status: 400,
    title: 'Unsupported token type',
    oauth: { error: 'unsupported_token_type' },
  },
} as const satisfies Record<
  string,
  { readonly status: number; readonly title: string; readonly oauth?: OAuthForm }
>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** Every code, for the API schema of a problem's `code`. */
export const ERROR_CODES = Object.keys(ERROR_TABLE) as readonly ErrorCode[];

/**
 * A code's RFC 6749 §5.2 form: the `error` and status the OAuth routes answer with, and
 * whether tokenwarden's own `code` goes along. `atGrant`: the request was a grant at the
 * token endpoint, where a refused token is `invalid_grant`.
 *
 * @example
 * oauthForm('token_reused', true); // { error: 'invalid_grant', status: 400, withCode: true }
 */
export function oauthForm(
  code: ErrorCode,
  atGrant: boolean,
): { readonly error: string; readonly status: number; readonly withCode: boolean } {
  const entry: { readonly status: number; readonly oauth?: OAuthForm } = ERROR_TABLE[code];
  const form = entry.oauth;
  const withCode = form?.withCode === true;
  if (atGrant && form?.grant !== undefined) return { ...form.grant, withCode };
  if (form !== undefined) return { error: form.error, status: form.status ?? entry.status, withCode };
  return entry.status >= 500
    ? { error: 'server_error', status: entry.status, withCode }
    : { error: 'invalid_request', status: 400, withCode };
}

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
