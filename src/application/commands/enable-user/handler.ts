import type { Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import {
  announceVersionChange,
  type UserVersionChange,
  versionChanged,
  versionUnchanged,
} from '../../user-version-change.js';
import { withUser } from '../../with-user.js';
import type { EnableUser } from './command.js';

/**
 * Clears `disabled_at` and increments the user's minimum token version, audited, in one
 * transaction; changes nothing for a user who is not disabled.
 */
export class EnableUserHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: EnableUser): Promise<Result<UserVersionChange>> {
    const outcome = await withUser(this.ctx, command.userId, 'change', async (repos, user) => {
      if (user.disabledAt === null) return versionUnchanged(user);
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
      return versionChanged(user, versions);
    });
    if (outcome.ok) announceVersionChange(this.ctx, outcome.value);
    return outcome;
  }
}
