import { userNotFound } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import { validateUserRotation } from '../../commands/trigger-user-token-rotation/validate.js';
import type { AppContext } from '../../context.js';

/** A user rotation's dry run: the same input as TriggerUserTokenRotation, minus the actor. */
export interface PreviewUserRotation {
  readonly userId: string;
  readonly reason: string;
}

export interface UserRotationDryRun {
  readonly dryRun: true;
  readonly userId: string;
  readonly currentVersion: number;
  readonly newVersion: number;
  readonly activeSessions: number;
  readonly activeRefreshTokens: number;
}

/**
 * What rotating one user now would do, changing nothing (docs/DESIGN.md §2, dry run): it
 * refuses what the rotation refuses, then counts that user's sessions and refresh
 * tokens that would stop working.
 *
 * @example
 * const preview = await services.previewUserRotation.execute({ userId, reason: 'account compromised' });
 */
export class PreviewUserRotationQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(input: PreviewUserRotation): Promise<Result<UserRotationDryRun>> {
    const valid = validateUserRotation(input);
    if (!valid.ok) return valid;
    const preview = await this.ctx.uow.read(async (repos) => {
      const user = await repos.users.findById(input.userId);
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
    if (preview === null) return err(userNotFound(input.userId));
    this.ctx.metrics.rotation('user', 'dry_run');
    return ok(preview);
  }
}
