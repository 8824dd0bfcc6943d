/**
 * A problem document as the server sends it (RFC 9457, with tokenwarden's `code`).
 * `rejection`, `errors` and the version fields appear only on the problems that have them.
 */
export interface ClientProblem {
  readonly type?: string;
  readonly title?: string;
  readonly status: number;
  readonly detail?: string;
  readonly code: string;
  readonly rejection?: 'global_rotation' | 'user_rotation';
  readonly errors?: readonly { readonly path: string; readonly message: string }[];
  readonly [extension: string]: unknown;
}

/**
 * Every failure of the client: a problem the server answered with (`code` is its
 * stable code, e.g. `invalid_credentials`, `token_rotated`), or a local one
 * (status 0: `network_error`, `not_signed_in`, `invalid_response`, `storage_unavailable`).
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
  readonly code: string;
  readonly status: number;
  readonly problem: ClientProblem;

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
