import type { Role } from '../../domain/user.js';

/** What an access token says; `ver`/`gver` are the version stamps. */
export interface AccessTokenClaims {
  readonly sub: string;
  readonly sid: string;
  readonly jti: string;
  readonly role: Role;
  readonly ver: number;
  readonly gver: number;
  readonly iat: number;
  readonly exp: number;
  /** RFC 9068 `client_id`: the first-party client id (null on tokens issued before it was written). */
  readonly clientId: string | null;
}

/**
 * What a client-credentials access token says (RFC 9068: `sub` and `client_id` are the
 * service client's id). It has no session and no version stamps: it is accepted only by
 * tokenwarden itself, which checks the client is still live on every use.
 */
export interface ClientTokenClaims {
  readonly clientId: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
}

export type AccessTokenInput = Pick<AccessTokenClaims, 'sub' | 'sid' | 'role' | 'ver' | 'gver'>;

export type VerifyFailure = 'token_invalid' | 'token_expired';

/** Issues and verifies access tokens (JWT, EdDSA by default). */
export interface AccessTokenSigner {
  /** `notAfter`: the token's `exp` is never later (its session's absolute age). */
  sign(
    input: AccessTokenInput,
    now: Date,
    notAfter?: Date,
  ): Promise<{ readonly token: string; readonly expiresIn: number }>;
  verify(
    token: string,
    now: Date,
  ): Promise<
    | { readonly ok: true; readonly claims: AccessTokenClaims }
    | { readonly ok: false; readonly reason: VerifyFailure }
  >;
  /** A short-lived token for a service client (the client_credentials grant), for tokenwarden's own routes. */
  signClient(clientId: string, now: Date): Promise<{ readonly token: string; readonly expiresIn: number }>;
  /** Checks a token {@link signClient} made; a user's access token is not one. */
  verifyClient(
    token: string,
    now: Date,
  ): Promise<
    | { readonly ok: true; readonly claims: ClientTokenClaims }
    | { readonly ok: false; readonly reason: VerifyFailure }
  >;
}
