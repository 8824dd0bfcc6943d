import { problemOf, TokenwardenClientError } from './errors.js';
import { type ClientEvents, createEventEmitter } from './events.js';
import { createRefresher } from './refresher.js';
import { createAuthorizedRequests, createTransport, type RequestOptions } from './request.js';
import { memoryStorage, type StoredTokens, type TokenStorage } from './storage.js';
import { createTokenKeeper, type TokenPair } from './token-keeper.js';

/**
 * What {@link createClient} takes. Only `baseUrl` is required.
 *
 * @example
 * const client = createClient({
 *   baseUrl: 'https://auth.example.com',
 *   storage: localStorageStorage(), // default: memoryStorage()
 *   refreshSkewSeconds: 60, // default 30
 * });
 */
export interface ClientOptions {
  /**
   * The server's origin, e.g. `https://auth.example.com` (paths like `/api/v1/...` are appended;
   * trailing slashes are dropped). An absolute URL passed to a call is sent as it is.
   */
  readonly baseUrl: string;
  /** Where tokens live; default {@link memoryStorage}. */
  readonly storage?: TokenStorage;
  /**
   * Refresh this many seconds before the access token expires (by the client's clock); default 30.
   * Keep it below the access-token TTL, or every call refreshes first.
   */
  readonly refreshSkewSeconds?: number;
  /**
   * The fetch to send requests with; default `globalThis.fetch`, looked up at each call. A
   * rejection it throws becomes a {@link TokenwardenClientError} `network_error` (status 0).
   */
  readonly fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** The client's clock in epoch milliseconds; default `Date.now` (tests replace it). */
  readonly now?: () => number;
}

/** One of the signed-in user's active sessions (a device or browser that logged in), as the server lists it. */
export interface Session {
  /** The session's id (a UUID): what {@link TokenwardenClient.revokeSession} takes. */
  readonly id: string;
  /** When the session started (the login), as an ISO 8601 date-time. */
  readonly createdAt: string;
  /** When its tokens were last refreshed (or the login, before any refresh), as an ISO 8601 date-time. */
  readonly lastUsedAt: string;
  /** The `User-Agent` the login sent; null when none was sent. */
  readonly userAgent: string | null;
  /** The client's IP address as the server saw it at login (through its trusted proxies); null when not an IP. */
  readonly ip: string | null;
  /** Whether this is the session of the access token that asked: this client's own. */
  readonly current: boolean;
}

/** One page of {@link TokenwardenClient.listSessionsPage}; `nextCursor` is null on the last. */
export interface SessionPage {
  /** The sessions on this page, newest first. */
  readonly items: Session[];
  /** Pass it back as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

/** The signed-in user, as `GET /api/v1/users/me` answers. */
export interface Me {
  /** The user's id (a UUID): the `sub` of their access tokens. */
  readonly id: string;
  /** The email the user logs in with. */
  readonly email: string;
  /** `user` or `admin` (a string, so a newer server's roles still parse). */
  readonly role: string;
  /**
   * The user's token version: every token stamped below it is refused. A user rotation
   * (password change, log out everywhere, an admin's call) raises it.
   */
  readonly minTokenVersion: number;
}

/** What {@link TokenwardenClient.logoutEverywhere} answers: the user rotation that was made. */
export interface UserRotationResult {
  /** The rotated user's id (a UUID). */
  readonly userId: string;
  /** The user's token version before the rotation. */
  readonly previousVersion: number;
  /** The version now required: every token stamped below it is refused. */
  readonly newVersion: number;
  /** When the rotation took effect, as an ISO 8601 date-time. */
  readonly rotatedAt: string;
}

/**
 * A client made by {@link createClient}. A method that talks to the server rejects with a
 * {@link TokenwardenClientError}: the server's problem (its `code` and status), or a local
 * failure with status 0 (`network_error`, `not_signed_in`, `storage_unavailable`). A 2xx
 * answer whose body is not the JSON expected rejects with `Response.json()`'s own `SyntaxError`.
 */
export interface TokenwardenClient {
  /**
   * Logs in (`POST /api/v1/sessions`), stores the token pair and emits `tokens`.
   *
   * @param email - The account's email.
   * @param password - The account's password.
   * @returns The stored tokens.
   * @throws {@link TokenwardenClientError} `invalid_credentials` (401) for a wrong email or
   *   password, `validation_failed` (422), `rate_limited` (429), `network_error`. When the
   *   storage refuses the tokens it rejects with the storage's error (`storage_unavailable` from
   *   {@link localStorageStorage}), and the new server session is ended (best effort) rather
   *   than left behind.
   *
   * @example
   * await client.login('alice@example.com', 'correct horse battery');
   */
  login(email: string, password: string): Promise<StoredTokens>;
  /**
   * Ends this session on the server (`DELETE /api/v1/sessions/current`, best effort: a failure
   * is ignored) and always clears the stored tokens, emitting `signedOut` once (reason `logout`,
   * or the server's refusal when the call met one). Does nothing when no tokens are stored; a
   * server that cannot be reached does not make it reject.
   */
  logout(): Promise<void>;
  /**
   * A user rotation of the signed-in user (`POST /api/v1/users/me/rotations`): every session of
   * theirs ends, on every device, this one included. The stored tokens are then cleared and
   * `signedOut` emitted with reason `logout`.
   *
   * @param reason - Recorded in the audit log; `log out everywhere` when left out.
   * @returns The rotation: the user's previous and new token version.
   * @throws {@link TokenwardenClientError} `not_signed_in`, or the server's refusal: the
   *   tokens are then kept, unless the refusal was for good (as for any call, see `fetch`).
   */
  logoutEverywhere(reason?: string): Promise<UserRotationResult>;
  /**
   * Changes the password (`POST /api/v1/users/me/password`): this device gets a fresh token
   * pair (stored, `tokens` emitted), every other session of the user ends.
   *
   * @param currentPassword - The password now, checked again by the server.
   * @param newPassword - The new password; the server's password rules apply.
   * @throws {@link TokenwardenClientError} `invalid_credentials` (401) for a wrong current
   *   password, `validation_failed` (422) for a new one the server refuses, `rate_limited`
   *   (429), `not_signed_in`.
   */
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
  listSessionsPage(options?: {
    /** Sessions per page, 1 to 200; the server's default (100) when left out. */
    readonly limit?: number;
    /** The previous page's `nextCursor`; left out for the first page. */
    readonly cursor?: string;
  }): Promise<SessionPage>;
  /**
   * Logs one of the signed-in user's sessions out (`DELETE /api/v1/sessions/{id}`), e.g. a lost
   * device's: its refresh token stops working at once. Revoking the current session this way
   * leaves the stored tokens in place until the server refuses them (which emits `signedOut`):
   * use {@link TokenwardenClient.logout} for this device.
   *
   * @param sessionId - A {@link Session.id} from {@link TokenwardenClient.listSessions}.
   * @throws {@link TokenwardenClientError} `session_not_found` (404) for an id that is not one of
   *   the user's sessions.
   */
  revokeSession(sessionId: string): Promise<void>;
  /** The signed-in user (`GET /api/v1/users/me`). */
  me(): Promise<Me>;
  /**
   * `fetch` with the bearer token attached, refreshed first when it is about to expire,
   * and refreshed and retried once on 401 `token_expired`/`token_invalid`. Resolves with
   * the server's response (a 401 `token_rotated|token_revoked|token_reused` clears the
   * tokens and emits `signedOut` first); rejects with a {@link TokenwardenClientError}
   * when there is no token to send (`not_signed_in`), the refresh was refused, or the server
   * could not be reached (`network_error`).
   *
   * A path is resolved against {@link ClientOptions.baseUrl}; an absolute URL or a `Request` is
   * sent where it points, with the token too (your own API, protected by
   * `@tokenwarden/verifier`): pass only URLs of servers that should see it. A `Request`'s body
   * is cloned, so the one retry can send it again.
   *
   * @param input - A path on the server (`/api/v1/...`), an absolute URL, or a `Request`.
   * @param init - As for `fetch`; its `authorization` header is replaced by the bearer token.
   * @returns The server's response, whatever its status (after the one retry).
   *
   * @example
   * const me = await (await client.fetch('/api/v1/users/me')).json();
   * const orders = await client.fetch('https://api.example.com/orders', { method: 'GET' });
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /**
   * A JSON call through {@link TokenwardenClient.fetch}: `options.body` is sent as JSON, the
   * answer is parsed as `T` (`undefined` for a 204).
   *
   * @typeParam T - The JSON the answer holds (not checked: a cast).
   * @param path - A path on the server (`/api/v1/...`) or an absolute URL; parameters go in `options.query`.
   * @param options - The method (default `GET`), the JSON body, the query, an abort signal.
   * @throws {@link TokenwardenClientError} with the server's problem for a non-2xx answer (a
   *   body that is not a problem becomes code `http_<status>`), or as `fetch` does.
   *
   * @example
   * const me = await client.request<Me>('/api/v1/users/me');
   */
  request<T>(path: string, options?: RequestOptions): Promise<T>;
  /**
   * Refreshes now (`POST /api/v1/tokens`), joining a refresh already under way; stores the new
   * pair and emits `tokens`.
   *
   * @throws {@link TokenwardenClientError} `not_signed_in`; a refusal for good (`token_rotated`,
   *   `token_revoked`, `token_reused`, or an expired/invalid refresh token) after clearing the
   *   tokens and emitting `signedOut`; a transient failure (`network_error`, 429, 5xx), which
   *   keeps the tokens.
   */
  refresh(): Promise<StoredTokens>;
  /** The stored tokens, or null when signed out (read from the storage at each call). */
  tokens(): Promise<StoredTokens | null>;
  /**
   * Listens to an event (see {@link ClientEvents}). A listener that throws is ignored: it
   * stops neither the other listeners nor the call that emitted.
   *
   * @param event - `signedOut` or `tokens`.
   * @param listener - Called with the event's payload, synchronously, as it happens.
   * @returns A function that removes the listener.
   *
   * @example
   * const off = client.on('signedOut', ({ reason }) => showLogin(reason));
   * // later
   * off();
   */
  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void;
}

/**
 * Creates a client for a tokenwarden server. It keeps the token pair in `storage`,
 * attaches the access token to requests, and refreshes it with single flight: however
 * many calls need a refresh at once, one `POST /api/v1/tokens` is sent and the others
 * wait for it. When the server refuses the tokens for good (a rotation, a revoked
 * session, a reused refresh token) it clears them and emits `signedOut` once, without
 * retrying.
 *
 * Creating it sends nothing and reads no storage; the first call does.
 *
 * @param options - The server's origin and, optionally, the storage, the refresh skew, the
 *   fetch and the clock.
 * @returns The client.
 *
 * @example
 * import { createClient, localStorageStorage } from '@tokenwarden/client';
 *
 * const client = createClient({ baseUrl: 'https://auth.example.com', storage: localStorageStorage() });
 * client.on('signedOut', ({ reason }) => showLogin(reason));
 * await client.login('alice@example.com', 'correct horse battery');
 * const res = await client.fetch('/api/v1/users/me');
 * console.log(await res.json());
 */
export function createClient(options: ClientOptions): TokenwardenClient {
  const events = createEventEmitter();
  const keeper = createTokenKeeper({
    storage: options.storage ?? memoryStorage(),
    events,
    now: options.now ?? Date.now,
    skewMs: (options.refreshSkewSeconds ?? 30) * 1000,
  });
  const transport = createTransport({
    baseUrl: options.baseUrl,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
  });
  const refresh = createRefresher({ keeper, postJson: transport.postJson });
  const { fetch, request } = createAuthorizedRequests({ transport, keeper, refresh });

  const listSessionsPage: TokenwardenClient['listSessionsPage'] = async (options = {}) => {
    const page = await request<{ items: Session[]; nextCursor?: string | null }>('/api/v1/sessions', {
      query: { limit: options.limit, cursor: options.cursor },
    });
    // A server from before paging sends no nextCursor: its one answer is the whole list.
    return { items: page.items, nextCursor: page.nextCursor ?? null };
  };

  return {
    async login(email, password) {
      const res = await transport.postJson('/api/v1/sessions', { email, password });
      if (!res.ok) throw new TokenwardenClientError(await problemOf(res));
      const pair = (await res.json()) as TokenPair;
      try {
        return await keeper.save(pair);
      } catch (error) {
        // The server session exists but its tokens could not be kept: end it (best effort)
        // rather than leave a session behind that nobody can use or log out of.
        await transport
          .send('/api/v1/sessions/current', {
            method: 'DELETE',
            headers: { authorization: `Bearer ${pair.accessToken}` },
          })
          .catch(() => undefined);
        throw error;
      }
    },
    async logout() {
      if ((await keeper.get()) === null) return;
      try {
        await request<void>('/api/v1/sessions/current', { method: 'DELETE' });
      } catch {
        // Already ended on the server, or unreachable: the local tokens go either way.
      }
      if ((await keeper.get()) !== null) await keeper.signOut('logout');
    },
    async logoutEverywhere(reason) {
      const result = await request<UserRotationResult>('/api/v1/users/me/rotations', {
        method: 'POST',
        body: reason === undefined ? {} : { reason },
      });
      await keeper.signOut('logout');
      return result;
    },
    async changePassword(currentPassword, newPassword) {
      const pair = await request<TokenPair>('/api/v1/users/me/password', {
        method: 'POST',
        body: { currentPassword, newPassword },
      });
      await keeper.save(pair);
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
    fetch,
    request,
    refresh: () => refresh(null),
    tokens: () => keeper.get(),
    on: events.on,
  };
}
