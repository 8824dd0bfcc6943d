import type { Role } from '../domain/user.js';
import type { VersionStamp } from '../domain/versions.js';
import type { AppContext } from './context.js';
import { AuditAction, EventType, recordChange } from './events.js';
import { lockForTokenWrite } from './lock-order.js';
import type { Repositories } from './ports/repositories.js';
import { type IssuedRefreshToken, issueRefreshToken } from './token-pair.js';

/** The audit reason of a session revoked to keep its user within the session cap. */
const SESSION_LIMIT_REASON = 'session_limit';

export interface StartedSession {
  readonly sessionId: string;
  readonly role: Role;
  readonly stamp: VersionStamp;
  readonly refreshToken: IssuedRefreshToken;
  readonly sessionExpiresAt: Date;
  readonly now: Date;
  /** The user's oldest sessions this login revoked to stay within the cap; tell caches after commit. */
  readonly revokedSessionIds: readonly string[];
}

/**
 * Creates a session and its first refresh token inside the caller's transaction.
 * The versions are read here, under the share locks of the shared lock order
 * (./lock-order.ts), so a login that commits after a rotation commits always
 * carries the new stamps. Null when the user is gone or disabled.
 *
 * The user keeps at most `policy.maxSessionsPerUser` live sessions: past it, the
 * oldest are revoked (tokens, then session rows, each audited as `session.revoked`
 * with reason `session_limit`) in this transaction. Logins of one user are serialised
 * by a lock no other writer takes, so two at the cap cannot both count the same
 * sessions; the rest keeps the shared lock order, so a concurrent refresh or password
 * change cannot deadlock with it.
 */
export async function startSession(
  ctx: AppContext,
  repos: Repositories,
  input: { readonly userId: string; readonly userAgent: string | null; readonly ip: string | null },
): Promise<StartedSession | null> {
  const limit = ctx.policy.maxSessionsPerUser;
  const { config, user, tokens } = await lockForTokenWrite(repos, {
    tokens: () => revokeTokensBeyondCap(ctx, repos, input.userId, limit),
    user: { id: input.userId, lock: 'share' },
  });
  const { now, evicted, revokedTokens } = tokens;
  const sessionId = ctx.tokens.id();
  const revokedSessionIds: string[] = [];
  for (const id of evicted) {
    if (!(await repos.sessions.revoke(id, now, SESSION_LIMIT_REASON))) continue;
    revokedSessionIds.push(id);
    await recordChange(ctx, repos, EventType.SessionRevoked, {
      occurredAt: now,
      actor: input.userId,
      action: AuditAction.SessionRevoked,
      userId: input.userId,
      reason: SESSION_LIMIT_REASON,
      details: {
        sessionId: id,
        revokedTokens: revokedTokens.get(id) ?? 0,
        sessionLimit: limit,
        replacedBy: sessionId,
      },
    });
  }
  if (user === null || user.disabledAt !== null) return null;

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
  return { sessionId, role: user.role, stamp, refreshToken, sessionExpiresAt, now, revokedSessionIds };
}

/**
 * Under the user's login lock, revokes the tokens of its live sessions beyond the
 * newest `limit - 1` (the session rows follow, after the user lock).
 */
async function revokeTokensBeyondCap(ctx: AppContext, repos: Repositories, userId: string, limit: number) {
  await repos.sessions.lockLoginsOf(userId);
  const now = ctx.clock.now();
  const evicted = await repos.sessions.listActiveIdsBeyondNewest(userId, now, limit - 1);
  const revokedTokens = new Map<string, number>();
  for (const id of evicted) revokedTokens.set(id, await repos.refreshTokens.revokeBySession(id, now));
  return { now, evicted, revokedTokens };
}
