import { userNotFound } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { recordRotationFailure } from '../../rotation-failure.js';
import type { TriggerUserTokenRotation } from './command.js';
import { rotateUserInTransaction, type UserRotationResult } from './rotate-user.js';
import { validateUserRotation } from './validate.js';

/**
 * Increments one user's minimum token version: immediate, no grace, others untouched.
 * The dry run is a query: PreviewUserRotationQuery.
 */
export class TriggerUserTokenRotationHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: TriggerUserTokenRotation): Promise<Result<UserRotationResult>> {
    const reason = validateUserRotation(command);
    if (!reason.ok) return reason;

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
    this.ctx.versionMarks.observeUser(result.userId, result.newVersion);
    this.ctx.versionListener.userVersionChanged(result.userId, result.newVersion);
    return ok(result);
  }
}
