import type { TokenwardenClientError } from './errors.js';
import type { ClientEventEmitter, SignOutReason } from './events.js';
import type { StoredTokens, TokenStorage } from './storage.js';
import type { TokenPair } from './wire-types.js';

export type { TokenPair };

/** The stored tokens, with their expiry by the client's clock and the events that go with changing them. */
export interface TokenKeeper {
  get(): Promise<StoredTokens | null>;
  /** Stores a pair the server issued and emits `tokens`. */
  save(pair: TokenPair): Promise<StoredTokens>;
  /** Clears the stored tokens and emits `signedOut`. */
  signOut(reason: SignOutReason, error?: TokenwardenClientError): Promise<void>;
  /** Whether the access token expires within the refresh skew. */
  expiring(tokens: StoredTokens): boolean;
}

export function createTokenKeeper(options: {
  readonly storage: TokenStorage;
  readonly events: ClientEventEmitter;
  readonly now: () => number;
  readonly skewMs: number;
}): TokenKeeper {
  const { storage, events, now, skewMs } = options;
  return {
    get: async () => storage.get(),
    async save(pair) {
      const tokens: StoredTokens = {
        accessToken: pair.accessToken,
        refreshToken: pair.refreshToken,
        accessTokenExpiresAt: now() + pair.expiresIn * 1000,
        sessionId: pair.sessionId,
      };
      await storage.set(tokens);
      events.emit('tokens', tokens);
      return tokens;
    },
    async signOut(reason, error) {
      await storage.clear();
      events.emit('signedOut', error === undefined ? { reason } : { reason, error });
    },
    expiring: (tokens) => now() >= tokens.accessTokenExpiresAt - skewMs,
  };
}
