import type { AppContext } from '../../context.js';
import { AuditAction, appendEvent, EventType, recordChange } from '../../events.js';
import { lockForTokenWrite } from '../../lock-order.js';
import type { Repositories } from '../../ports/repositories.js';

export interface UserRotationResult {
  readonly userId: string;
  readonly previousVersion: number;
  readonly newVersion: number;
  readonly rotatedAt: Date;
}

/**
 * The body of a user rotation, inside the caller's transaction (a password change
 * runs it alongside its own writes). Null when the user does not exist.
 */
export async function rotateUserInTransaction(
  ctx: AppContext,
  repos: Repositories,
  input: {
    readonly userId: string;
    readonly triggeredBy: string;
    readonly reason: string;
    /** Raise to at least this version (past versions the database lost, docs/DESIGN.md §7). */
    readonly atLeast?: number;
  },
): Promise<UserRotationResult | null> {
  // The increment is the user step of the lock order: it locks the row it updates.
  await lockForTokenWrite(repos);
  const rotatedAt = ctx.clock.now();
  const attempt = { userId: input.userId, triggeredBy: input.triggeredBy, reason: input.reason };
  const versions = await repos.users.incrementMinTokenVersion(input.userId, rotatedAt, input.atLeast);
  if (versions === null) return null;
  await appendEvent(repos.outbox, ctx.tokens, EventType.UserTokenRotationAttempted, rotatedAt, attempt);
  await recordChange(
    ctx,
    repos,
    EventType.UserTokenRotationSucceeded,
    {
      occurredAt: rotatedAt,
      actor: input.triggeredBy,
      action: AuditAction.UserRotation,
      userId: input.userId,
      reason: input.reason,
      details: { previousVersion: versions.previousVersion, newVersion: versions.newVersion },
    },
    { ...attempt, ...versions, rotatedAt: rotatedAt.toISOString() },
  );
  return { userId: input.userId, ...versions, rotatedAt };
}
