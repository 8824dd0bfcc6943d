/** Randomness and token hashing in one place, so tests can control both. */
export interface TokenGenerator {
  /** A new refresh token: `twr_` + base64url(32 random bytes). */
  refreshToken(): string;
  /** Hex SHA-256 of a presented refresh token: the only form stored. */
  hashRefreshToken(token: string): string;
  /** Whether a string has the shape of a refresh token (cheap pre-check before any lookup). */
  isWellFormedRefreshToken(token: string): boolean;
  /** A new random identifier (UUID). */
  id(): string;
}
