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
}
