import type { RefreshTokenRecord } from '../../../domain/refresh-token.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import type { Repositories } from '../../ports/repositories.js';

/**
 * Whether a used refresh token, presented `now`, is a replay rather than a retry: it was
 * rotated away longer ago than the reuse interval (docs/DESIGN.md, reuse detection).
 *
 * @example
 * if (isReplay(ctx, token, now)) await revokeForReuse(ctx, repos, token, token.userId, now);
 */
export function isReplay(ctx: Pick<AppContext, 'policy'>, token: RefreshTokenRecord, now: Date): boolean {
  return (
    token.usedAt !== null && now.getTime() - token.usedAt.getTime() > ctx.policy.reuseIntervalSeconds * 1000
  );
}

/**
 * What a detected reuse does, whoever detected it (a refresh, a revocation): every token
 * of the session and the session revoked (reason `refresh_token_reuse`, which the
 * revocation feed carries), the `RefreshTokenReuseDetected` event and its audit row, in
 * the caller's transaction. The caller tells the version listener after the commit.
 *
 * @example
 * await ctx.uow.run((repos) => revokeForReuse(ctx, repos, presented, user.id, now));
 */
export async function revokeForReuse(
  ctx: Pick<AppContext, 'tokens' | 'metrics'>,
  repos: Repositories,
  presented: RefreshTokenRecord,
  userId: string,
  now: Date,
): Promise<void> {
  const revokedTokens = await repos.refreshTokens.revokeBySession(presented.sessionId, now);
  const sessionRevoked = await repos.sessions.revoke(presented.sessionId, now, 'refresh_token_reuse');
  const details = {
    sessionId: presented.sessionId,
    tokenId: presented.id,
    usedAt: presented.usedAt?.toISOString() ?? null,
    revokedTokens,
    sessionRevoked,
  };
  await recordChange(ctx, repos, EventType.RefreshTokenReuseDetected, {
    occurredAt: now,
    actor: 'system',
    action: AuditAction.RefreshTokenReuseDetected,
    userId,
    reason: 'refresh token presented after its reuse interval',
    details,
  });
  ctx.metrics.reuseDetected();
}
