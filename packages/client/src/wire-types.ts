/**
 * The token pair as the server sends it: declared here once, read by this package and
 * checked by the server against the schema it validates its answers with.
 */
export interface TokenPair {
  /** The access token: an EdDSA or ES256 JWT (`typ: at+jwt`), sent as `Authorization: Bearer …`. */
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
