import { userNotFound } from '../../../domain/errors.js';
import { isUuid } from '../../../domain/ids.js';
import { err, ok, type Result } from '../../../domain/result.js';
import { parseRotationReason } from '../../../domain/rotation-reason.js';
import type { AppContext } from '../../context.js';
import { recordRotationFailure } from '../../rotation-failure.js';
import type { TriggerUserTokenRotation } from './command.js';
import { rotateUserInTransaction, type UserRotationResult } from './rotate-user.js';

export interface UserRotationDryRun {
  readonly dryRun: true;
  readonly userId: string;
  readonly currentVersion: number;
  readonly newVersion: number;
  readonly activeSessions: number;
  readonly activeRefreshTokens: number;
}

/** Increments one user's minimum token version: immediate, no grace, others untouched. */
export class TriggerUserTokenRotationHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: TriggerUserTokenRotation): Promise<Result<UserRotationResult | UserRotationDryRun>> {
    const reason = parseRotationReason(command.reason);
    if (!reason.ok) return reason;
    if (!isUuid(command.userId)) return err(userNotFound(command.userId));

    if (command.dryRun === true) {
      const preview = await this.ctx.uow.read(async (repos) => {
        const user = await repos.users.findById(command.userId);
        if (user === null) return null;
        const now = this.ctx.clock.now();
        return {
          dryRun: true as const,
          userId: user.id,
          currentVersion: user.minTokenVersion,
          newVersion: user.minTokenVersion + 1,
          activeSessions: await repos.sessions.countActive(now, user.id),
          activeRefreshTokens: await repos.refreshTokens.countLive(now, user.id),
        };
      });
      if (preview === null) return err(userNotFound(command.userId));
      this.ctx.metrics.rotation('user', 'dry_run');
      return ok(preview);
    }

    let result: UserRotationResult | null;
    try {
      result = await this.ctx.uow.run((repos) =>
        rotateUserInTransaction(this.ctx, repos, {
          userId: command.userId,
          triggeredBy: command.triggeredBy,
          reason: reason.value,
        }),
      );
    } catch (cause) {
      this.ctx.metrics.rotation('user', 'failed');
      await recordRotationFailure(this.ctx, {
        scope: 'user',
        triggeredBy: command.triggeredBy,
        reason: reason.value,
        userId: command.userId,
        cause,
      });
      throw cause;
    }
    if (result === null) return err(userNotFound(command.userId));
    this.ctx.metrics.rotation('user', 'succeeded');
    this.ctx.versionListener.userVersionChanged(result.userId, result.newVersion);
    return ok(result);
  }
}
