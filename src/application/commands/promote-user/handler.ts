import type { Result } from '../../../domain/result.js';
import { parseRotationReason } from '../../../domain/rotation-reason.js';
import type { UserRecord } from '../../../domain/user.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import type { Repositories } from '../../ports/repositories.js';
import {
  announceVersionChange,
  type UserVersionChange,
  versionChanged,
  versionUnchanged,
} from '../../user-version-change.js';
import { withUser } from '../../with-user.js';
import type { PromoteUser } from './command.js';

/**
 * Sets the admin role and increments the user's minimum token version, with the audit
 * row and outbox event, inside the caller's transaction (which holds the user row
 * `for update`). The rotation makes the role change a fresh start: tokens issued before
 * it are refused, so only a login made after the promotion carries admin power.
 */
export async function promoteUserInTransaction(
  ctx: AppContext,
  repos: Repositories,
  user: UserRecord,
  input: { readonly actor: string; readonly reason: string },
): Promise<UserVersionChange> {
  const now = ctx.clock.now();
  await repos.users.setRole(user.id, 'admin', now);
  const versions = await repos.users.incrementMinTokenVersion(user.id, now);
  await recordChange(ctx, repos, EventType.UserPromoted, {
    occurredAt: now,
    actor: input.actor,
    action: AuditAction.UserPromoted,
    userId: user.id,
    reason: input.reason,
    details: { role: { from: user.role, to: 'admin' }, ...versions },
  });
  return versionChanged(user, versions);
}

/** Promotes one user to admin, audited, in one transaction; idempotent for an admin. */
export class PromoteUserHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: PromoteUser): Promise<Result<UserVersionChange>> {
    const reason = parseRotationReason(command.reason);
    if (!reason.ok) return reason;
    const outcome = await withUser(this.ctx, command.userId, 'change', async (repos, user) =>
      user.role === 'admin'
        ? versionUnchanged(user)
        : promoteUserInTransaction(this.ctx, repos, user, { actor: command.actor, reason: reason.value }),
    );
    if (outcome.ok) announceVersionChange(this.ctx, outcome.value);
    return outcome;
  }
}
