import { TokenwardenClientError } from './errors.js';

/** What the client keeps between calls: the token pair and when the access token expires. */
export interface StoredTokens {
  /** The access token (a JWT), sent as `Authorization: Bearer …`. */
  readonly accessToken: string;
  /**
   * The refresh token (opaque, `twr_…`), for `POST /api/v1/tokens`. Each refresh replaces it;
   * the old one presented again later ends the session (`token_reused`). Keep it secret.
   */
  readonly refreshToken: string;
  /** Epoch milliseconds, by the client's clock (the server's `expiresIn` added at receipt). */
  readonly accessTokenExpiresAt: number;
  /** The server session the pair belongs to (a UUID): the {@link Session.id} marked `current`. */
  readonly sessionId: string;
}

/**
 * Where the client keeps its tokens. Implement it to use a cookie jar, a secure
 * enclave, IndexedDB, or a file; methods may return promises.
 *
 * @example
 * const storage: TokenStorage = {
 *   get: () => vault.read('tw'),
 *   set: (tokens) => vault.write('tw', tokens),
 *   clear: () => vault.delete('tw'),
 * };
 */
export interface TokenStorage {
  /** The stored tokens, or null when there are none (signed out); read before every call. */
  get(): StoredTokens | null | Promise<StoredTokens | null>;
  /**
   * Replaces the stored tokens (after a login, a refresh or a password change). Throw (or
   * reject) when they cannot be kept: the call fails with that error, and a login ends the
   * server session it started.
   */
  set(tokens: StoredTokens): void | Promise<void>;
  /** Forgets the stored tokens (on sign-out). */
  clear(): void | Promise<void>;
}

/**
 * Keeps tokens in this process only (the default): a reload or restart signs out.
 *
 * @param initial - Tokens to start with (e.g. handed over from elsewhere); default none.
 *
 * @example
 * const client = createClient({ baseUrl, storage: memoryStorage() });
 */
export function memoryStorage(initial: StoredTokens | null = null): TokenStorage {
  let tokens = initial;
  return {
    get: () => tokens,
    set: (next) => {
      tokens = next;
    },
    clear: () => {
      tokens = null;
    },
  };
}

/** The part of the Web Storage API the adapter uses (`window.localStorage`, `sessionStorage`, a fake). */
export interface WebStorageLike {
  /** The value under `key`, or null. */
  getItem(key: string): string | null;
  /** Stores `value` under `key`; may throw (a full quota), which the adapter reports as `storage_unavailable`. */
  setItem(key: string, value: string): void;
  /** Removes `key`. */
  removeItem(key: string): void;
}

/**
 * Keeps tokens in `localStorage` (or any Web Storage) under `key`, so they survive a
 * reload and are shared by the tabs of one origin. Anything script on the page can read
 * them: use it only on a page with a strict CSP.
 *
 * Where there is no `localStorage` (Node, a worker, a browser that blocks storage) and
 * none is passed, it throws a {@link TokenwardenClientError} `storage_unavailable` at once,
 * before the client sends anything: a login must never create a server session whose
 * tokens then have nowhere to go. A write the store refuses (a full quota) is the same error.
 * A stored value that is not a token set (corrupt, or another app's) reads as signed out.
 *
 * @param key - The storage key; default `tokenwarden.tokens`.
 * @param store - The Web Storage to use; default `globalThis.localStorage`.
 * @throws {@link TokenwardenClientError} `storage_unavailable` when no `store` is passed and
 *   there is no usable `localStorage`.
 *
 * @example
 * const client = createClient({ baseUrl: location.origin, storage: localStorageStorage('myapp.tokens') });
 */
export function localStorageStorage(key = 'tokenwarden.tokens', store?: WebStorageLike): TokenStorage {
  const web = store ?? globalLocalStorage();
  return {
    get() {
      const raw = web.getItem(key);
      if (raw === null) return null;
      try {
        const parsed = JSON.parse(raw) as Partial<StoredTokens>;
        if (
          typeof parsed.accessToken === 'string' &&
          typeof parsed.refreshToken === 'string' &&
          typeof parsed.accessTokenExpiresAt === 'number' &&
          typeof parsed.sessionId === 'string'
        ) {
          return parsed as StoredTokens;
        }
      } catch {
        // Not ours or corrupt: treat as signed out.
      }
      return null;
    },
    set(tokens) {
      try {
        web.setItem(key, JSON.stringify(tokens));
      } catch (cause) {
        throw storageUnavailable(
          `localStorageStorage: the store refused the tokens (${describe(cause)})`,
          cause,
        );
      }
    },
    clear: () => web.removeItem(key),
  };
}

/** `globalThis.localStorage` when it is there and usable; reading it can itself throw (a SecurityError). */
function globalLocalStorage(): WebStorageLike {
  let found: unknown;
  try {
    found = (globalThis as { localStorage?: unknown }).localStorage;
  } catch (cause) {
    throw storageUnavailable(`localStorageStorage: localStorage is blocked here (${describe(cause)})`, cause);
  }
  if (
    typeof found !== 'object' ||
    found === null ||
    typeof (found as Partial<WebStorageLike>).getItem !== 'function' ||
    typeof (found as Partial<WebStorageLike>).setItem !== 'function' ||
    typeof (found as Partial<WebStorageLike>).removeItem !== 'function'
  ) {
    throw storageUnavailable(
      'localStorageStorage: there is no localStorage here (Node, a worker?): pass a Web Storage as its second argument, or use memoryStorage() or your own TokenStorage',
    );
  }
  return found as WebStorageLike;
}

const describe = (cause: unknown): string => (cause instanceof Error ? cause.name : String(cause));

function storageUnavailable(detail: string, cause?: unknown): TokenwardenClientError {
  return new TokenwardenClientError(
    { status: 0, code: 'storage_unavailable', detail },
    cause === undefined ? undefined : { cause },
  );
}
