import type { Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import { withUser } from '../../with-user.js';
import type { DisableUser } from './command.js';

export interface DisabledUser {
  readonly userId: string;
  readonly disabledAt: Date;
  /** False when the user was already disabled: nothing was written. */
  readonly changed: boolean;
}

/**
 * Sets `disabled_at` with its audit row and outbox event in one transaction. No token
 * row is touched: the validity rule refuses every token of a disabled user.
 */
export class DisableUserHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: DisableUser): Promise<Result<DisabledUser>> {
    const outcome = await withUser(this.ctx, command.userId, 'change', async (repos, user) => {
      if (user.disabledAt !== null) return { userId: user.id, disabledAt: user.disabledAt, changed: false };
      const now = this.ctx.clock.now();
      await repos.users.setDisabled(user.id, now, now);
      await recordChange(this.ctx, repos, EventType.UserDisabled, {
        occurredAt: now,
        actor: command.actor,
        action: AuditAction.UserDisabled,
        userId: user.id,
        reason: command.reason,
        details: {},
      });
      return { userId: user.id, disabledAt: now, changed: true };
    });
    if (outcome.ok && outcome.value.changed) this.ctx.versionListener.userChanged(command.userId);
    return outcome;
  }
}
