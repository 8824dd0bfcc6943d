import type { Result } from '../../../domain/result.js';
import { validateUserRotation } from '../../commands/trigger-user-token-rotation/validate.js';
import type { AppContext } from '../../context.js';
import { withUser } from '../../with-user.js';

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
    const preview = await withUser(this.ctx, input.userId, 'read', async (repos, user) => {
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
    if (preview.ok) this.ctx.metrics.rotation('user', 'dry_run');
    return preview;
  }
}
