/** Lifetimes and windows that shape sessions and tokens; parsed from configuration once. */
export interface TokenPolicy {
  /** A refresh token's own lifetime; never beyond its session's absolute age. */
  readonly refreshTokenTtlSeconds: number;
  /** A session's absolute maximum age, however often it is refreshed. */
  readonly sessionMaxAgeSeconds: number;
  /** How long an already-used refresh token still yields the same successor (concurrent refresh). */
  readonly reuseIntervalSeconds: number;
  /** An access token's lifetime: the verifier refuses a longer `exp − iat` as one never issued. */
  readonly accessTokenTtlSeconds: number;
  /** Live sessions one user may hold; a login past it revokes the oldest. */
  readonly maxSessionsPerUser: number;
  /**
   * A refresh's write applies only if the database runs it within this of the refresh's
   * start: by then its client has been answered (503 at the latest), so a write that comes
   * later must not use the token the client still holds.
   */
  readonly writeDeadlineMs: number;
}
