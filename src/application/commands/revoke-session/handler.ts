import { TokenwardenError } from '../../../domain/errors.js';
import { isUuid } from '../../../domain/ids.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import type { RevokeSession } from './command.js';

export class RevokeSessionHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: RevokeSession): Promise<Result<{ readonly revokedTokens: number }>> {
    const notFound = () =>
      err(new TokenwardenError('session_not_found', `No session with id ${command.sessionId}`));
    if (!isUuid(command.sessionId)) return notFound();
    const outcome = await this.ctx.uow.run(async (repos) => {
      const session = await repos.sessions.findById(command.sessionId);
      if (session === null || (command.ownerId !== null && session.userId !== command.ownerId))
        return notFound();
      const now = this.ctx.clock.now();
      // Tokens before the session row: the same order refresh locks them in.
      const revokedTokens = await repos.refreshTokens.revokeBySession(session.id, now);
      const revoked = await repos.sessions.revoke(session.id, now, command.reason);
      if (revoked) {
        await recordChange(this.ctx, repos, EventType.SessionRevoked, {
          occurredAt: now,
          actor: command.actor,
          action: AuditAction.SessionRevoked,
          userId: session.userId,
          reason: command.reason,
          details: { sessionId: session.id, revokedTokens },
        });
      }
      return ok({ revokedTokens });
    });
    if (outcome.ok) this.ctx.versionListener.sessionRevoked(command.sessionId);
    return outcome;
  }
}
