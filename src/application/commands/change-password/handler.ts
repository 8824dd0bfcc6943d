import { parseNewPassword } from '../../../domain/credentials.js';
import { TokenwardenError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { VersionStamp } from '../../../domain/versions.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import { lockForTokenWrite } from '../../lock-order.js';
import { buildTokenPair, issueRefreshToken, type TokenPair } from '../../token-pair.js';
import { rotateUserInTransaction } from '../trigger-user-token-rotation/rotate-user.js';
import type { ChangePassword } from './command.js';

export const PASSWORD_CHANGE_REASON = 'password_change';

/**
 * One transaction: new password hash, automatic user rotation (reason
 * `password_change`), the other sessions revoked, and a fresh refresh token in
 * this device's session stamped with the new user version.
 */
export class ChangePasswordHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: ChangePassword): Promise<Result<TokenPair>> {
    const newPassword = parseNewPassword(command.newPassword, '/newPassword');
    if (!newPassword.ok) return newPassword;
    const user = await this.ctx.uow.read((repos) => repos.users.findById(command.userId));
    if (user === null || !(await this.ctx.hasher.verify(user.passwordHash, command.currentPassword))) {
      return err(new TokenwardenError('invalid_credentials', 'The current password is incorrect'));
    }
    const passwordHash = await this.ctx.hasher.hash(newPassword.value);

    const outcome = await this.ctx.uow.run(async (repos) => {
      // Refused before any write: the unit of work commits whatever ran before an err().
      const session = await repos.sessions.findById(command.sessionId);
      if (session === null || session.userId !== user.id || session.revokedAt !== null) {
        return err(new TokenwardenError('unauthorized', 'The session has ended'));
      }
      const { config } = await lockForTokenWrite(repos, {
        tokens: () => repos.refreshTokens.revokeByUser(user.id, this.ctx.clock.now()),
      });
      const rotation = await rotateUserInTransaction(this.ctx, repos, {
        userId: user.id,
        triggeredBy: user.id,
        reason: PASSWORD_CHANGE_REASON,
      });
      if (rotation === null) return err(new TokenwardenError('unauthorized', 'The user no longer exists'));
      const now = rotation.rotatedAt;
      await repos.users.updatePasswordHash(user.id, passwordHash, now);
      // The rotation already kills the other devices' tokens (and this device's old
      // one); revoking their rows too keeps the session list honest.
      const revokedSessions = await repos.sessions.revokeAllForUser(
        user.id,
        now,
        PASSWORD_CHANGE_REASON,
        session.id,
      );
      const stamp: VersionStamp = {
        userVersion: rotation.newVersion,
        globalVersion: config.globalMinTokenVersion,
      };
      const refreshToken = await issueRefreshToken(this.ctx, repos, {
        sessionId: session.id,
        sessionExpiresAt: session.expiresAt,
        userId: user.id,
        stamp,
        now,
        parentId: null,
      });
      await repos.sessions.touch(session.id, now);
      await recordChange(this.ctx, repos, EventType.PasswordChanged, {
        occurredAt: now,
        actor: user.id,
        action: AuditAction.PasswordChanged,
        userId: user.id,
        reason: PASSWORD_CHANGE_REASON,
        details: { sessionId: session.id, revokedSessions, newVersion: rotation.newVersion },
      });
      return ok({
        rotation,
        sessionId: session.id,
        sessionExpiresAt: session.expiresAt,
        stamp,
        refreshToken,
        now,
      });
    });
    if (!outcome.ok) return outcome;
    const { rotation, sessionId, sessionExpiresAt, stamp, refreshToken, now } = outcome.value;
    this.ctx.metrics.rotation('user', 'succeeded');
    this.ctx.versionListener.userVersionChanged(user.id, rotation.newVersion);
    this.ctx.versionListener.userSessionsRevoked(user.id);
    return ok(
      await buildTokenPair(this.ctx, {
        userId: user.id,
        role: user.role,
        sessionId,
        stamp,
        refreshToken: refreshToken.token,
        refreshExpiresAt: refreshToken.expiresAt,
        sessionExpiresAt,
        now,
      }),
    );
  }
}
