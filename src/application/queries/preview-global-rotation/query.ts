import { ok, type Result } from '../../../domain/result.js';
import { validateGlobalRotation } from '../../commands/trigger-global-token-rotation/validate.js';
import type { AppContext } from '../../context.js';

/** A global rotation's dry run: the same input as TriggerGlobalTokenRotation, minus the actor. */
export interface PreviewGlobalRotation {
  readonly reason: string;
  readonly gracePeriodSeconds?: number;
  readonly rotateSigningKey?: boolean;
}

export interface GlobalRotationDryRun {
  readonly dryRun: true;
  readonly currentVersion: number;
  readonly newVersion: number;
  readonly gracePeriodSeconds: number;
  readonly activeSessions: number;
  readonly activeRefreshTokens: number;
  /** With `rotateSigningKey`: the key that would be retired (every access token it signed dies). */
  readonly retiredSigningKeyId?: string | null;
}

/**
 * What a global rotation now would do, changing nothing (docs/DESIGN.md §2, dry run): it
 * refuses what the rotation refuses, then counts the sessions and refresh tokens
 * that would stop working.
 *
 * @example
 * const preview = await services.previewGlobalRotation.execute({ reason: 'breach drill' });
 */
export class PreviewGlobalRotationQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(input: PreviewGlobalRotation): Promise<Result<GlobalRotationDryRun>> {
    const valid = validateGlobalRotation(this.ctx, input);
    if (!valid.ok) return valid;
    const preview = await this.ctx.uow.read(async (repos) => {
      const now = this.ctx.clock.now();
      const config = await repos.securityConfig.get();
      return {
        dryRun: true as const,
        currentVersion: config.globalMinTokenVersion,
        newVersion: config.globalMinTokenVersion + 1,
        gracePeriodSeconds: input.gracePeriodSeconds ?? config.gracePeriodSeconds,
        activeSessions: await repos.sessions.countActive(now),
        activeRefreshTokens: await repos.refreshTokens.countLive(now),
        ...(input.rotateSigningKey === true
          ? {
              retiredSigningKeyId:
                (await repos.signingKeys.list(now)).find((key) => key.status === 'active')?.kid ?? null,
            }
          : {}),
      };
    });
    this.ctx.metrics.rotation('global', 'dry_run');
    return ok(preview);
  }
}
