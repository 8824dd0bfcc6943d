import { TokenwardenClientError } from './errors.js';

/** What the client keeps between calls: the token pair and when the access token expires. */
export interface StoredTokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Epoch milliseconds, by the client's clock (the server's `expiresIn` added at receipt). */
  readonly accessTokenExpiresAt: number;
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
  get(): StoredTokens | null | Promise<StoredTokens | null>;
  set(tokens: StoredTokens): void | Promise<void>;
  clear(): void | Promise<void>;
}

/**
 * Keeps tokens in this process only (the default): a reload or restart signs out.
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
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
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
