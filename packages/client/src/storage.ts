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
 * @example
 * const client = createClient({ baseUrl: location.origin, storage: localStorageStorage('myapp.tokens') });
 */
export function localStorageStorage(key = 'tokenwarden.tokens', store?: WebStorageLike): TokenStorage {
  const web = (): WebStorageLike => {
    const found = store ?? (globalThis as { localStorage?: WebStorageLike }).localStorage;
    if (found === undefined) throw new Error('localStorageStorage: no localStorage here; pass one');
    return found;
  };
  return {
    get() {
      const raw = web().getItem(key);
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
    set: (tokens) => web().setItem(key, JSON.stringify(tokens)),
    clear: () => web().removeItem(key),
  };
}
