import { userNotFound } from '../../../domain/errors.js';
import { isUuid } from '../../../domain/ids.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import type { RevokeAllSessions } from './command.js';

export class RevokeAllSessionsHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: RevokeAllSessions): Promise<Result<{ readonly revokedSessions: number }>> {
    if (!isUuid(command.userId)) return err(userNotFound(command.userId));
    const outcome = await this.ctx.uow.run(async (repos) => {
      const user = await repos.users.findById(command.userId);
      if (user === null) return err(userNotFound(command.userId));
      const now = this.ctx.clock.now();
      await repos.refreshTokens.revokeByUser(user.id, now, command.exceptSessionId);
      const revokedSessions = await repos.sessions.revokeAllForUser(
        user.id,
        now,
        command.reason,
        command.exceptSessionId,
      );
      await recordChange(this.ctx, repos, EventType.AllSessionsRevoked, {
        occurredAt: now,
        actor: command.actor,
        action: AuditAction.AllSessionsRevoked,
        userId: user.id,
        reason: command.reason,
        details: { revokedSessions, exceptSessionId: command.exceptSessionId ?? null },
      });
      return ok({ revokedSessions });
    });
    if (outcome.ok) this.ctx.versionListener.userSessionsRevoked(command.userId);
    return outcome;
  }
}
