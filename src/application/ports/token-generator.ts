/** Randomness and token hashing in one place, so tests can control both. */
export interface TokenGenerator {
  /** A new refresh token: `twr_` + base64url(32 random bytes). */
  refreshToken(): string;
  /** Hex SHA-256 of a presented refresh token: the only form stored. */
  hashRefreshToken(token: string): string;
  /** Whether a string has the shape of a refresh token (cheap pre-check before any lookup). */
  isWellFormedRefreshToken(token: string): boolean;
  /** A new service-client secret: `twc_` + base64url(32 random bytes). */
  serviceClientSecret(): string;
  /** Hex SHA-256 of a service-client secret: the only form stored. */
  hashServiceClientSecret(secret: string): string;
  /**
   * Whether `secret` hashes to `storedHash`, compared in constant time; `storedHash` null
   * (no such client) costs the same work and answers false.
   */
  serviceClientSecretMatches(secret: string, storedHash: string | null): boolean;
  /** A new random identifier (UUID). */
  id(): string;
}
