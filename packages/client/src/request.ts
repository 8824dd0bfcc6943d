import { notSignedIn, problemOf, TokenwardenClientError } from './errors.js';
import { accessRefusal } from './events.js';
import type { Refresh } from './refresher.js';
import type { TokenKeeper } from './token-keeper.js';

const JSON_TYPE = 'application/json';

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * What {@link TokenwardenClient.request} takes besides the path.
 *
 * @example
 * await client.request<SessionPage>('/api/v1/sessions', { query: { limit: 20 } });
 * await client.request<void>(`/api/v1/sessions/${sessionId}`, { method: 'DELETE' });
 * await client.request<UserRotationResult>('/api/v1/users/me/rotations', { method: 'POST', body: {} });
 */
export interface RequestOptions {
  /** The HTTP method; default `GET`. */
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Sent as JSON (`content-type: application/json`); nothing is sent when left out. */
  readonly body?: unknown;
  /** Appended as a query string, URI-encoded; `undefined` and `''` values are left out. */
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** Aborts the request (the fetch rejects, as `network_error`). */
  readonly signal?: AbortSignal;
}

/** Plain requests to the server: paths resolved against its origin, network failures as client errors. */
interface Transport {
  readonly send: Fetch;
  /** Posts `body` as JSON, without a bearer token. */
  postJson(path: string, body: unknown): Promise<Response>;
}

/** Requests with the bearer token attached. */
interface AuthorizedRequests {
  /** What `TokenwardenClient.fetch` does. */
  readonly fetch: Fetch;
  /** A JSON call through `fetch`; a non-2xx answer throws its problem. */
  request<T>(path: string, options?: RequestOptions): Promise<T>;
}

/** Sends to the server's origin (`baseUrl` without its trailing slashes); a fetch that throws becomes `network_error`. */
export function createTransport(options: { readonly baseUrl: string; readonly fetch: Fetch }): Transport {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const resolve = (input: string | URL): string => {
    const text = String(input);
    return /^[a-z][a-z0-9+.-]*:/i.test(text) ? text : `${baseUrl}${text.startsWith('/') ? '' : '/'}${text}`;
  };
  const send: Fetch = async (input, init) => {
    try {
      return await options.fetch(
        typeof input === 'string' || input instanceof URL ? resolve(input) : input,
        init,
      );
    } catch (cause) {
      throw new TokenwardenClientError(
        { status: 0, code: 'network_error', detail: cause instanceof Error ? cause.message : String(cause) },
        { cause },
      );
    }
  };
  return {
    send,
    postJson: (path, body) =>
      send(path, { method: 'POST', headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(body) }),
  };
}

/**
 * The bearer token attached, refreshed first when it is about to expire, and refreshed
 * and retried once on 401 `token_expired`/`token_invalid`; a 401 that refuses the
 * tokens for good signs out.
 */
export function createAuthorizedRequests(options: {
  readonly transport: Transport;
  readonly keeper: TokenKeeper;
  readonly refresh: Refresh;
}): AuthorizedRequests {
  const { transport, keeper, refresh } = options;

  const withBearer = (input: string | URL | Request, init: RequestInit | undefined, token: string) => {
    const isRequest = typeof Request !== 'undefined' && input instanceof Request;
    const headers = new Headers(init?.headers ?? (isRequest ? input.headers : undefined));
    headers.set('authorization', `Bearer ${token}`);
    // A Request's body can be read once: clone it so a retry can send it again.
    return transport.send(isRequest ? input.clone() : input, { ...init, headers });
  };

  const authorizedFetch: Fetch = async (input, init) => {
    let tokens = await keeper.get();
    if (tokens === null) throw notSignedIn();
    if (keeper.expiring(tokens)) tokens = await refresh(tokens);
    let retried = false;
    for (;;) {
      const res = await withBearer(input, init, tokens.accessToken);
      if (res.status !== 401) return res;
      const problem = await problemOf(res);
      const current = await keeper.get();
      if (current === null) return res;
      const newer = current.accessToken !== tokens.accessToken;
      if (!retried && newer) {
        // The token was replaced while this request was under way: try the new one.
        retried = true;
        tokens = keeper.expiring(current) ? await refresh(current) : current;
        continue;
      }
      if (!retried && (problem.code === 'token_expired' || problem.code === 'token_invalid')) {
        retried = true;
        tokens = await refresh(tokens);
        continue;
      }
      const reason = accessRefusal(problem);
      if (reason !== null && !newer) await keeper.signOut(reason, new TokenwardenClientError(problem));
      return res;
    }
  };

  const request = async <T>(path: string, opts: RequestOptions = {}): Promise<T> => {
    const query = Object.entries(opts.query ?? {})
      .filter(([, value]) => value !== undefined && value !== '')
      .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
      .join('&');
    const headers: Record<string, string> = { accept: `${JSON_TYPE}, application/problem+json` };
    if (opts.body !== undefined) headers['content-type'] = JSON_TYPE;
    const res = await authorizedFetch(query === '' ? path : `${path}?${query}`, {
      method: opts.method ?? 'GET',
      headers,
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    if (!res.ok) throw new TokenwardenClientError(await problemOf(res));
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  };

  return { fetch: authorizedFetch, request };
}
