/** Exchange a refresh token for a new pair (rotation on every use, docs/DESIGN.md §3). */
export interface RefreshTokens {
  readonly refreshToken: string;
  readonly userAgent: string | null;
  readonly ip: string | null;
}

export const RefreshTokens = (fields: RefreshTokens): RefreshTokens => Object.freeze({ ...fields });
