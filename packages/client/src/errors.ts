/**
 * A problem document as the server sends it (RFC 9457, with tokenwarden's `code`).
 * `rejection`, `errors` and the version fields appear only on the problems that have them.
 */
export interface ClientProblem {
  /** The problem's type, a URN per code (e.g. `urn:tokenwarden:problem:token-rotated`). */
  readonly type?: string;
  /** A short summary for people (e.g. `Token rotated`); the HTTP status text for a body that is not a problem. */
  readonly title?: string;
  /** The HTTP status of the answer; 0 for a local failure (nothing was answered). */
  readonly status: number;
  /** What went wrong in this case, for people (the error's `message`). */
  readonly detail?: string;
  /**
   * The stable code to switch on: the server's (e.g. `invalid_credentials`, `token_rotated`,
   * `rate_limited`), `http_<status>` for an answer that is not a problem, or a local one
   * (`network_error`, `not_signed_in`, `storage_unavailable`).
   */
  readonly code: string;
  /** On `token_rotated`: which rotation refused the token. */
  readonly rejection?: 'global_rotation' | 'user_rotation';
  /** On `validation_failed`: each field the server refused. */
  readonly errors?: readonly {
    /** A JSON Pointer to the field, e.g. `/email`. */
    readonly path: string;
    /** Why it was refused. */
    readonly message: string;
  }[];
  /** Any other member the server sent. */
  readonly [extension: string]: unknown;
}

/**
 * Every failure of the client: a problem the server answered with (`code` is its
 * stable code, e.g. `invalid_credentials`, `token_rotated`), or a local one
 * (status 0: `network_error`, `not_signed_in`, `storage_unavailable`).
 *
 * @example
 * try {
 *   await client.login(email, password);
 * } catch (error) {
 *   if (error instanceof TokenwardenClientError && error.code === 'invalid_credentials') showWrongPassword();
 *   else throw error;
 * }
 */
export class TokenwardenClientError extends Error {
  /** The problem's stable code (see {@link ClientProblem.code}). */
  readonly code: string;
  /** The HTTP status; 0 for a local failure. */
  readonly status: number;
  /** The whole problem document, with any member the server added (`rejection`, `errors`, ...). */
  readonly problem: ClientProblem;

  /**
   * The client makes these; you need one only to fake the client's failures in tests.
   *
   * @param problem - The problem; the message is its `detail`, else its `title`, else its `code`.
   * @param options - The `cause` (e.g. the network error behind `network_error`).
   */
  constructor(problem: ClientProblem, options?: { cause?: unknown }) {
    super(problem.detail ?? problem.title ?? problem.code, options);
    this.name = 'TokenwardenClientError';
    this.code = problem.code;
    this.status = problem.status;
    this.problem = problem;
  }
}

/** Reads a problem from a non-2xx response; a body that is not one becomes `http_<status>`. */
export async function problemOf(response: Response): Promise<ClientProblem> {
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    body = undefined;
  }
  if (typeof body === 'object' && body !== null && typeof (body as { code?: unknown }).code === 'string') {
    return { ...(body as ClientProblem), status: response.status };
  }
  return { status: response.status, code: `http_${response.status}`, title: response.statusText };
}

/** The local error of a call that needs tokens when none are stored. */
export function notSignedIn(): TokenwardenClientError {
  return new TokenwardenClientError({
    status: 0,
    code: 'not_signed_in',
    detail: 'No tokens stored: log in first',
  });
}
