import type { TokenwardenClientError } from './errors.js';
import type { ClientEventEmitter, SignOutReason } from './events.js';
import type { StoredTokens, TokenStorage } from './storage.js';

/**
 * A token pair as the server issues it (a login, a refresh, a password change). The client
 * keeps it as {@link StoredTokens}.
 */
export interface TokenPair {
  /** The access token: an EdDSA JWT (`typ: at+jwt`), sent as `Authorization: Bearer …`. */
  readonly accessToken: string;
  /** The refresh token (opaque, `twr_…`), single use. */
  readonly refreshToken: string;
  /** Always `Bearer`. */
  readonly tokenType: 'Bearer';
  /** Seconds until the access token expires, from issuance (the server's access-token TTL). */
  readonly expiresIn: number;
  /** Seconds until the refresh token expires, from issuance. */
  readonly refreshExpiresIn: number;
  /** The server session the pair belongs to (a UUID). */
  readonly sessionId: string;
}

/** The stored tokens, with their expiry by the client's clock and the events that go with changing them. */
export interface TokenKeeper {
  /** The stored tokens, or null when signed out. */
  get(): Promise<StoredTokens | null>;
  /** Stores a pair the server issued and emits `tokens`. */
  save(pair: TokenPair): Promise<StoredTokens>;
  /** Clears the stored tokens and emits `signedOut`. */
  signOut(reason: SignOutReason, error?: TokenwardenClientError): Promise<void>;
  /** Whether the access token expires within the refresh skew. */
  expiring(tokens: StoredTokens): boolean;
}

/**
 * The keeper over `storage`: `skewMs` is how long before expiry (by `now`, epoch ms) a token
 * counts as expiring.
 */
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
