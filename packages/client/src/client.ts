import { problemOf, TokenwardenClientError } from './errors.js';
import { type ClientEvents, createEventEmitter } from './events.js';
import { createRefresher } from './refresher.js';
import { createAuthorizedRequests, createTransport, type RequestOptions } from './request.js';
import { memoryStorage, type StoredTokens, type TokenStorage } from './storage.js';
import { createTokenKeeper, type TokenPair } from './token-keeper.js';

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

/**
 * Creates a client for a tokenwarden server. It keeps the token pair in `storage`,
 * attaches the access token to requests, and refreshes it with single flight: however
 * many calls need a refresh at once, one `POST /api/v1/tokens` is sent and the others
 * wait for it. When the server refuses the tokens for good (a rotation, a revoked
 * session, a reused refresh token) it clears them and emits `signedOut` once, without
 * retrying.
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
