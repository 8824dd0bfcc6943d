/**
 * RFC 7009 revocation: a refresh token or an access token ends its session (the
 * whole refresh-token family, and with it every access token naming the session).
 */
export interface RevokeToken {
  readonly token: string;
}

export const RevokeToken = (fields: RevokeToken): RevokeToken => Object.freeze({ ...fields });
