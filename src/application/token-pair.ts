import type { TokenPair } from '@tokenwarden/client/wire-types';
import type { Role } from '../domain/user.js';
import type { VersionStamp } from '../domain/versions.js';
import type { AppContext } from './context.js';
import type { NewRefreshToken } from './ports/refresh-token-repository.js';
import type { Repositories } from './ports/repositories.js';

// What login, refresh and password change answer with: declared once, by the client SDK that reads it.
export type { TokenPair };

export interface IssuedRefreshToken {
  readonly id: string;
  readonly token: string;
  readonly expiresAt: Date;
}

/** Where a new refresh token goes and what it is stamped with. */
export interface RefreshTokenPlacement<P extends string | null = string | null> {
  readonly sessionId: string;
  readonly sessionExpiresAt: Date;
  readonly userId: string;
  readonly stamp: VersionStamp;
  readonly now: Date;
  readonly parentId: P;
}

/**
 * Inserts a new refresh token in a session, stamped with the versions read in the
 * caller's transaction. Its lifetime never reaches past the session's absolute age.
 */
export async function issueRefreshToken(
  ctx: AppContext,
  repos: Repositories,
  input: RefreshTokenPlacement,
): Promise<IssuedRefreshToken> {
  const { record, issued } = newRefreshToken(ctx, input);
  await repos.refreshTokens.insert(record);
  return issued;
}

/** A new refresh token and the row that stores it (its hash), not yet written. */
export function newRefreshToken<P extends string | null>(
  ctx: AppContext,
  input: RefreshTokenPlacement<P>,
): { readonly record: NewRefreshToken & { readonly parentId: P }; readonly issued: IssuedRefreshToken } {
  const token = ctx.tokens.refreshToken();
  const id = ctx.tokens.id();
  const ttlEnd = input.now.getTime() + ctx.policy.refreshTokenTtlSeconds * 1000;
  const expiresAt = new Date(Math.min(ttlEnd, input.sessionExpiresAt.getTime()));
  return {
    record: {
      id,
      sessionId: input.sessionId,
      userId: input.userId,
      tokenHash: ctx.tokens.hashRefreshToken(token),
      stamp: input.stamp,
      createdAt: input.now,
      expiresAt,
      parentId: input.parentId,
    },
    issued: { id, token, expiresAt },
  };
}

/** What a pair is built from: decided inside a transaction, signed after it commits. */
export interface TokenPairInput {
  readonly userId: string;
  readonly role: Role;
  readonly sessionId: string;
  readonly stamp: VersionStamp;
  readonly refreshToken: string;
  readonly refreshExpiresAt: Date;
  /** The session's absolute age: the access token expires no later. */
  readonly sessionExpiresAt: Date;
  readonly now: Date;
}

/** Signs an access token with the same stamps (expiring no later than its session) and puts the pair together. */
export async function buildTokenPair(ctx: AppContext, input: TokenPairInput): Promise<TokenPair> {
  // Versions this instance issued under were in force: remembered against a database that goes back.
  ctx.versionMarks.observeGlobal(input.stamp.globalVersion);
  ctx.versionMarks.observeUser(input.userId, input.stamp.userVersion);
  const access = await ctx.signer.sign(
    {
      sub: input.userId,
      sid: input.sessionId,
      role: input.role,
      ver: input.stamp.userVersion,
      gver: input.stamp.globalVersion,
    },
    input.now,
    input.sessionExpiresAt,
  );
  return {
    accessToken: access.token,
    refreshToken: input.refreshToken,
    tokenType: 'Bearer',
    expiresIn: access.expiresIn,
    refreshExpiresIn: Math.max(
      0,
      Math.floor((input.refreshExpiresAt.getTime() - input.now.getTime()) / 1000),
    ),
    sessionId: input.sessionId,
  };
}
