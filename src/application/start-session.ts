import type { VersionStamp } from '../domain/versions.js';
import type { AppContext } from './context.js';
import type { Repositories, Role } from './ports/repositories.js';
import { type IssuedRefreshToken, issueRefreshToken } from './token-pair.js';

export interface StartedSession {
  readonly sessionId: string;
  readonly role: Role;
  readonly stamp: VersionStamp;
  readonly refreshToken: IssuedRefreshToken;
  readonly sessionExpiresAt: Date;
  readonly now: Date;
}

/**
 * Creates a session and its first refresh token inside the caller's transaction.
 * The versions are read here, under share locks taken in the order every writer
 * uses (security config, then user), so a login that commits after a rotation
 * commits always carries the new stamps. Null when the user is gone or disabled.
 */
export async function startSession(
  ctx: AppContext,
  repos: Repositories,
  input: { readonly userId: string; readonly userAgent: string | null; readonly ip: string | null },
): Promise<StartedSession | null> {
  const config = await repos.securityConfig.get('share');
  const user = await repos.users.findById(input.userId, 'share');
  if (user === null || user.disabledAt !== null) return null;
  const now = ctx.clock.now();
  const sessionId = ctx.tokens.id();
  const sessionExpiresAt = new Date(now.getTime() + ctx.policy.sessionMaxAgeSeconds * 1000);
  await repos.sessions.insert({
    id: sessionId,
    userId: user.id,
    createdAt: now,
    expiresAt: sessionExpiresAt,
    userAgent: input.userAgent,
    ip: input.ip,
  });
  const stamp: VersionStamp = {
    userVersion: user.minTokenVersion,
    globalVersion: config.globalMinTokenVersion,
  };
  const refreshToken = await issueRefreshToken(ctx, repos, {
    sessionId,
    sessionExpiresAt,
    userId: user.id,
    stamp,
    now,
    parentId: null,
  });
  return { sessionId, role: user.role, stamp, refreshToken, sessionExpiresAt, now };
}
