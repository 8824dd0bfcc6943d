import type { AppContext } from './context.js';
import { AuditAction, EventType, recordChange } from './events.js';

/**
 * A rotation whose transaction failed left nothing behind, so the failure is
 * recorded in a transaction of its own. Best effort: when the database itself is
 * down this fails too, and the caller's error (a 5xx) is what the operator sees.
 */
export async function recordRotationFailure(
  ctx: AppContext,
  input: {
    readonly scope: 'global' | 'user';
    readonly triggeredBy: string;
    readonly reason: string;
    readonly userId: string | null;
    readonly cause: unknown;
  },
): Promise<void> {
  const error = input.cause instanceof Error ? input.cause.message : String(input.cause);
  try {
    await ctx.uow.run(async (repos) => {
      const global = input.scope === 'global';
      await recordChange(
        ctx,
        repos,
        global ? EventType.GlobalTokenRotationFailed : EventType.UserTokenRotationFailed,
        {
          occurredAt: ctx.clock.now(),
          actor: input.triggeredBy,
          action: global ? AuditAction.GlobalRotationFailed : AuditAction.UserRotationFailed,
          userId: input.userId,
          reason: input.reason,
          details: { error },
        },
        { triggeredBy: input.triggeredBy, reason: input.reason, userId: input.userId, error },
      );
    });
  } catch {
    // Nothing more to do: the original error propagates.
  }
}
