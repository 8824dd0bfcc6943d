/**
 * Every error code tokenwarden can answer with, in one table (as fastify keeps its
 * errors): the HTTP status and a stable title. The `code` string is the contract
 * clients switch on; the title is for people.
 */
export const ERROR_TABLE = {
  bad_request: { status: 400, title: 'Bad request' },
  validation_failed: { status: 422, title: 'Validation failed' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  user_not_found: { status: 404, title: 'User not found' },
  session_not_found: { status: 404, title: 'Session not found' },
  signing_key_not_found: { status: 404, title: 'Signing key not found' },
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

/** Extra members a problem carries beyond RFC 9457's own (e.g. `rejection`, `errors`). */
export type ProblemExtensions = Readonly<Record<string, unknown>>;

/**
 * An expected failure: handlers return it inside `err(...)`, never throw it.
 * The HTTP layer turns it into `application/problem+json`.
 *
 * @example
 * return err(new TokenwardenError('user_not_found', `no user ${id}`));
 */
export class TokenwardenError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly extensions: ProblemExtensions;

  constructor(code: ErrorCode, detail?: string, extensions: ProblemExtensions = {}) {
    const entry = ERROR_TABLE[code];
    super(detail ?? entry.title);
    this.name = 'TokenwardenError';
    this.code = code;
    this.status = entry.status;
    this.title = entry.title;
    this.extensions = extensions;
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
