import { type ClientProblem, problemOf, TokenwardenClientError } from './errors.js';
import { memoryStorage, type StoredTokens, type TokenStorage } from './storage.js';

/** Why the client dropped its tokens. */
export type SignOutReason =
  | 'global_rotation'
  | 'user_rotation'
  | 'token_reused'
  | 'token_revoked'
  | 'session_expired'
  | 'logout';

export interface SignedOutEvent {
  readonly reason: SignOutReason;
  /** The server's refusal that caused it (absent for `logout`). */
  readonly error?: TokenwardenClientError;
}

/** The events a client emits, by name. */
export interface ClientEvents {
  /** The stored tokens were cleared: by `logout`, or because the server refused them for good. */
  readonly signedOut: SignedOutEvent;
  /** New tokens were stored: after login, a refresh or a password change. */
  readonly tokens: StoredTokens;
}

export interface ClientOptions {
  /** The server's origin, e.g. `https://auth.example.com` (paths like `/api/v1/...` are appended). */
  readonly baseUrl: string;
  /** Where tokens live; default {@link memoryStorage}. */
  readonly storage?: TokenStorage;
  /** Refresh this many seconds before the access token expires; default 30. Keep it below the access-token TTL. */
  readonly refreshSkewSeconds?: number;
  /** The fetch to send requests with; default `globalThis.fetch`. */
  readonly fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** The client's clock in epoch milliseconds; default `Date.now` (tests replace it). */
  readonly now?: () => number;
}

export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: 'Bearer';
  readonly expiresIn: number;
  readonly refreshExpiresIn: number;
  readonly sessionId: string;
}

export interface Session {
  readonly id: string;
  readonly createdAt: string;
  readonly lastUsedAt: string;
  readonly userAgent: string | null;
  readonly ip: string | null;
  readonly current: boolean;
}

/** One page of {@link TokenwardenClient.listSessionsPage}; `nextCursor` is null on the last. */
export interface SessionPage {
  readonly items: Session[];
  readonly nextCursor: string | null;
}

export interface Me {
  readonly id: string;
  readonly email: string;
  readonly role: string;
  readonly minTokenVersion: number;
}

export interface UserRotationResult {
  readonly userId: string;
  readonly previousVersion: number;
  readonly newVersion: number;
  readonly rotatedAt: string;
}

export interface RequestOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Appended as a query string; `undefined` and `''` values are left out. */
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly signal?: AbortSignal;
}

export interface TokenwardenClient {
  /** Logs in (`POST /api/v1/sessions`) and stores the token pair. */
  login(email: string, password: string): Promise<StoredTokens>;
  /** Ends this session on the server (best effort) and always clears the stored tokens. */
  logout(): Promise<void>;
  /** A user rotation of the signed-in user: every session of theirs ends, this one included. */
  logoutEverywhere(reason?: string): Promise<UserRotationResult>;
  /** Changes the password; this device gets a fresh pair, every other session ends. */
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  /**
   * Every active session of the signed-in user, newest first: follows the server's
   * pages until the last.
   *
   * @example
   * const others = (await client.listSessions()).filter((s) => !s.current);
   */
  listSessions(): Promise<Session[]>;
  /**
   * One page of the signed-in user's sessions (`GET /api/v1/sessions?limit&cursor`).
   *
   * @example
   * let page = await client.listSessionsPage({ limit: 20 });
   * while (page.nextCursor !== null) page = await client.listSessionsPage({ cursor: page.nextCursor });
   */
  listSessionsPage(options?: { readonly limit?: number; readonly cursor?: string }): Promise<SessionPage>;
  revokeSession(sessionId: string): Promise<void>;
  me(): Promise<Me>;
  /**
   * `fetch` with the bearer token attached, refreshed first when it is about to expire,
   * and refreshed and retried once on 401 `token_expired`/`token_invalid`. Resolves with
   * the server's response (a 401 `token_rotated|token_revoked|token_reused` clears the
   * tokens and emits `signedOut` first); rejects with a {@link TokenwardenClientError}
   * when there is no token to send (`not_signed_in`) or the refresh was refused.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** A JSON call through {@link TokenwardenClient.fetch}; a non-2xx answer throws its problem. */
  request<T>(path: string, options?: RequestOptions): Promise<T>;
  /** Refreshes now (joining a refresh already under way). */
  refresh(): Promise<StoredTokens>;
  tokens(): Promise<StoredTokens | null>;
  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void;
}

const JSON_TYPE = 'application/json';

function refreshRefusal(problem: ClientProblem): SignOutReason | null {
  switch (problem.code) {
    case 'token_rotated':
      return problem.rejection ?? 'global_rotation';
    case 'token_reused':
      return 'token_reused';
    case 'token_revoked':
      return 'token_revoked';
    case 'token_expired':
    case 'token_invalid':
      return 'session_expired';
    default:
      return null;
  }
}

function accessRefusal(problem: ClientProblem): SignOutReason | null {
  if (problem.code === 'token_expired' || problem.code === 'token_invalid') return null;
  return refreshRefusal(problem);
}

const notSignedIn = () =>
  new TokenwardenClientError({ status: 0, code: 'not_signed_in', detail: 'No tokens stored: log in first' });

/**
 * Creates a client for a tokenwarden server. It keeps the token pair in `storage`,
 * attaches the access token to requests, and refreshes it with single flight: however
 * many calls need a refresh at once, one `POST /api/v1/tokens` is sent and the others
 * wait for it. When the server refuses the tokens for good (a rotation, a revoked
 * session, a reused refresh token) it clears them and emits `signedOut` once, without
 * retrying.
 *
 * @example
 * import { createClient, localStorageStorage } from 'tokenwarden/client';
 *
 * const client = createClient({ baseUrl: 'https://auth.example.com', storage: localStorageStorage() });
 * client.on('signedOut', ({ reason }) => showLogin(reason));
 * await client.login('alice@example.com', 'correct horse battery');
 * const res = await client.fetch('/api/v1/users/me');
 * console.log(await res.json());
 */
export function createClient(options: ClientOptions): TokenwardenClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const storage = options.storage ?? memoryStorage();
  const skewMs = (options.refreshSkewSeconds ?? 30) * 1000;
  const now = options.now ?? Date.now;
  const send = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const listeners: { [E in keyof ClientEvents]: Set<(payload: ClientEvents[E]) => void> } = {
    signedOut: new Set(),
    tokens: new Set(),
  };
  let inflight: Promise<StoredTokens> | null = null;

  const emit = <E extends keyof ClientEvents>(event: E, payload: ClientEvents[E]) => {
    for (const listener of [...listeners[event]]) {
      try {
        listener(payload);
      } catch {
        // A listener's bug must not break the request that triggered it.
      }
    }
  };

  const resolve = (input: string | URL): string => {
    const text = String(input);
    return /^[a-z][a-z0-9+.-]*:/i.test(text) ? text : `${baseUrl}${text.startsWith('/') ? '' : '/'}${text}`;
  };

  const transmit = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    try {
      return await send(typeof input === 'string' || input instanceof URL ? resolve(input) : input, init);
    } catch (cause) {
      throw new TokenwardenClientError(
        { status: 0, code: 'network_error', detail: cause instanceof Error ? cause.message : String(cause) },
        { cause },
      );
    }
  };

  const postJson = (path: string, body: unknown) =>
    transmit(path, { method: 'POST', headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(body) });

  const store = async (pair: TokenPair): Promise<StoredTokens> => {
    const tokens: StoredTokens = {
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      accessTokenExpiresAt: now() + pair.expiresIn * 1000,
      sessionId: pair.sessionId,
    };
    await storage.set(tokens);
    emit('tokens', tokens);
    return tokens;
  };

  const signOut = async (reason: SignOutReason, error?: TokenwardenClientError) => {
    await storage.clear();
    emit('signedOut', error === undefined ? { reason } : { reason, error });
  };

  const expiring = (tokens: StoredTokens) => now() >= tokens.accessTokenExpiresAt - skewMs;

  /** Single flight: the first caller sends the refresh, everyone else awaits the same promise. */
  const refreshFrom = (stale: StoredTokens | null): Promise<StoredTokens> => {
    if (inflight !== null) return inflight;
    inflight = (async () => {
      const current = await storage.get();
      if (current === null) throw notSignedIn();
      // Another caller (or tab, with shared storage) refreshed since `stale` was read.
      if (stale !== null && current.accessToken !== stale.accessToken && !expiring(current)) return current;
      const res = await postJson('/api/v1/tokens', { refreshToken: current.refreshToken });
      if (res.ok) return store((await res.json()) as TokenPair);
      const error = new TokenwardenClientError(await problemOf(res));
      const reason = refreshRefusal(error.problem);
      // Transient failures (network, 429, 5xx) keep the tokens: a later call may refresh.
      if (reason !== null) await signOut(reason, error);
      throw error;
    })().finally(() => {
      inflight = null;
    });
    return inflight;
  };

  const withBearer = (input: string | URL | Request, init: RequestInit | undefined, token: string) => {
    const isRequest = typeof Request !== 'undefined' && input instanceof Request;
    const headers = new Headers(init?.headers ?? (isRequest ? input.headers : undefined));
    headers.set('authorization', `Bearer ${token}`);
    // A Request's body can be read once: clone it so a retry can send it again.
    return transmit(isRequest ? input.clone() : input, { ...init, headers });
  };

  const authorizedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let tokens = await storage.get();
    if (tokens === null) throw notSignedIn();
    if (expiring(tokens)) tokens = await refreshFrom(tokens);
    let retried = false;
    for (;;) {
      const res = await withBearer(input, init, tokens.accessToken);
      if (res.status !== 401) return res;
      const problem = await problemOf(res);
      const current = await storage.get();
      if (current === null) return res;
      const newer = current.accessToken !== tokens.accessToken;
      if (!retried && newer) {
        // The token was replaced while this request was under way: try the new one.
        retried = true;
        tokens = expiring(current) ? await refreshFrom(current) : current;
        continue;
      }
      if (!retried && (problem.code === 'token_expired' || problem.code === 'token_invalid')) {
        retried = true;
        tokens = await refreshFrom(tokens);
        continue;
      }
      const reason = accessRefusal(problem);
      if (reason !== null && !newer) await signOut(reason, new TokenwardenClientError(problem));
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

  const listSessionsPage: TokenwardenClient['listSessionsPage'] = async (options = {}) => {
    const page = await request<{ items: Session[]; nextCursor?: string | null }>('/api/v1/sessions', {
      query: { limit: options.limit, cursor: options.cursor },
    });
    // A server from before paging sends no nextCursor: its one answer is the whole list.
    return { items: page.items, nextCursor: page.nextCursor ?? null };
  };

  return {
    async login(email, password) {
      const res = await postJson('/api/v1/sessions', { email, password });
      if (!res.ok) throw new TokenwardenClientError(await problemOf(res));
      return store((await res.json()) as TokenPair);
    },
    async logout() {
      if ((await storage.get()) === null) return;
      try {
        await request<void>('/api/v1/sessions/current', { method: 'DELETE' });
      } catch {
        // Already ended on the server, or unreachable: the local tokens go either way.
      }
      if ((await storage.get()) !== null) await signOut('logout');
    },
    async logoutEverywhere(reason) {
      const result = await request<UserRotationResult>('/api/v1/users/me/rotations', {
        method: 'POST',
        body: reason === undefined ? {} : { reason },
      });
      await signOut('logout');
      return result;
    },
    async changePassword(currentPassword, newPassword) {
      const pair = await request<TokenPair>('/api/v1/users/me/password', {
        method: 'POST',
        body: { currentPassword, newPassword },
      });
      await store(pair);
    },
    async listSessions() {
      const sessions: Session[] = [];
      let cursor: string | undefined;
      do {
        const page = await listSessionsPage({ cursor });
        sessions.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      return sessions;
    },
    listSessionsPage,
    async revokeSession(sessionId) {
      await request<void>(`/api/v1/sessions/${encodeURIComponent(sessionId)}`, { method: 'DELETE' });
    },
    me: () => request<Me>('/api/v1/users/me'),
    fetch: authorizedFetch,
    request,
    refresh: () => refreshFrom(null),
    tokens: async () => storage.get(),
    on(event, listener) {
      listeners[event].add(listener);
      return () => {
        listeners[event].delete(listener);
      };
    },
  };
}
