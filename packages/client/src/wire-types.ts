/**
 * The token pair as the server sends it: declared here once, read by this package and
 * checked by the server against the schema it validates its answers with.
 */
export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  readonly expiresIn: number;
  /** Seconds until the refresh token expires. */
  readonly refreshExpiresIn: number;
  readonly sessionId: string;
}
