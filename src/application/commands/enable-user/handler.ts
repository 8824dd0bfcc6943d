import type { Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import { withUser } from '../../with-user.js';
import type { EnableUser } from './command.js';

export interface EnabledUser {
  readonly userId: string;
  /** The user's token version after the rotation that came with enabling (unchanged when `changed` is false). */
  readonly minTokenVersion: number;
  /** False when the user was not disabled: nothing was written. */
  readonly changed: boolean;
}

/** Clears `disabled_at` and increments the user's minimum token version, audited, in one transaction. */
export class EnableUserHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: EnableUser): Promise<Result<EnabledUser>> {
    const outcome = await withUser(this.ctx, command.userId, 'change', async (repos, user) => {
      if (user.disabledAt === null) {
        return { userId: user.id, minTokenVersion: user.minTokenVersion, changed: false };
      }
      const now = this.ctx.clock.now();
      const versions = await repos.users.incrementMinTokenVersion(user.id, now);
      await repos.users.setDisabled(user.id, null, now);
      await recordChange(this.ctx, repos, EventType.UserEnabled, {
        occurredAt: now,
        actor: command.actor,
        action: AuditAction.UserEnabled,
        userId: user.id,
        reason: command.reason,
        details: { disabledSince: user.disabledAt.toISOString(), ...versions },
      });
      return {
        userId: user.id,
        minTokenVersion: versions?.newVersion ?? user.minTokenVersion,
        changed: true,
      };
    });
    if (outcome.ok && outcome.value.changed) {
      this.ctx.versionListener.userVersionChanged(command.userId, outcome.value.minTokenVersion);
      this.ctx.versionListener.userChanged(command.userId);
    }
    return outcome;
  }
}
