import { validationError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import { parseRotationReason } from '../../../domain/rotation-reason.js';
import { graceUntil, isValidGracePeriod, MAX_GRACE_PERIOD_SECONDS } from '../../../domain/versions.js';
import type { AppContext } from '../../context.js';
import { AuditAction, appendEvent, EventType, recordChange } from '../../events.js';
import { recordRotationFailure } from '../../rotation-failure.js';
import { pinnedSigningKeyError, signingKeysChanged } from '../../signing-keys-changed.js';
import type { TriggerGlobalTokenRotation } from './command.js';

export interface GlobalRotationResult {
  readonly previousVersion: number;
  readonly newVersion: number;
  readonly gracePeriodSeconds: number;
  readonly graceUntil: Date;
  readonly rotatedAt: Date;
  /** With `rotateSigningKey`: the key that signed until now, retired. */
  readonly retiredSigningKeyId?: string | null;
  /** With `rotateSigningKey`: the key that signs from now on. */
  readonly newSigningKeyId?: string;
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
 * One transaction: increment the global version, record when, why and until when
 * one-behind tokens keep working, and write the audit row and outbox events. No
 * token row is touched, so the cost does not depend on how many tokens exist.
 */
export class TriggerGlobalTokenRotationHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(
    command: TriggerGlobalTokenRotation,
  ): Promise<Result<GlobalRotationResult | GlobalRotationDryRun>> {
    const reason = parseRotationReason(command.reason);
    if (!reason.ok) return reason;
    if (command.gracePeriodSeconds !== undefined && !isValidGracePeriod(command.gracePeriodSeconds)) {
      return err(
        validationError([
          {
            path: '/gracePeriodSeconds',
            message: `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}`,
          },
        ]),
      );
    }

    const rotateKey = command.rotateSigningKey === true;
    if (rotateKey && this.ctx.keys.pinned) return err(pinnedSigningKeyError());

    if (command.dryRun === true) {
      const preview = await this.ctx.uow.read(async (repos) => {
        const now = this.ctx.clock.now();
        const config = await repos.securityConfig.get();
        return {
          dryRun: true as const,
          currentVersion: config.globalMinTokenVersion,
          newVersion: config.globalMinTokenVersion + 1,
          gracePeriodSeconds: command.gracePeriodSeconds ?? config.gracePeriodSeconds,
          activeSessions: await repos.sessions.countActive(now),
          activeRefreshTokens: await repos.refreshTokens.countLive(now),
          ...(rotateKey
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

    try {
      const result = await this.ctx.uow.run(async (repos) => {
        const rotatedAt = this.ctx.clock.now();
        const attempt = { triggeredBy: command.triggeredBy, reason: reason.value };
        await appendEvent(
          repos.outbox,
          this.ctx.tokens,
          EventType.GlobalTokenRotationAttempted,
          rotatedAt,
          attempt,
        );
        // The grace period comes from the config row, read in this transaction unless overridden.
        const current = await repos.securityConfig.get('update');
        const gracePeriodSeconds = command.gracePeriodSeconds ?? current.gracePeriodSeconds;
        const until = graceUntil(rotatedAt, gracePeriodSeconds);
        const { previousVersion, config } = await repos.securityConfig.rotateGlobal({
          rotatedAt,
          reason: reason.value,
          graceUntil: until,
        });
        // Access tokens are checked against the versions too, but one-behind ones pass in
        // the grace window: retiring the key that signed them is what kills them all now.
        const keys = rotateKey ? await repos.signingKeys.rotate(rotatedAt, { retireOthers: true }) : null;
        const outcome: GlobalRotationResult = {
          previousVersion,
          newVersion: config.globalMinTokenVersion,
          gracePeriodSeconds,
          graceUntil: until,
          rotatedAt,
          ...(keys === null ? {} : { retiredSigningKeyId: keys.previousKid, newSigningKeyId: keys.newKid }),
        };
        const details = {
          previousVersion,
          newVersion: outcome.newVersion,
          gracePeriodSeconds,
          graceUntil: until.toISOString(),
          ...(keys === null ? {} : { retiredSigningKeyId: keys.previousKid, newSigningKeyId: keys.newKid }),
        };
        if (keys !== null) {
          await recordChange(this.ctx, repos, EventType.SigningKeyRotated, {
            occurredAt: rotatedAt,
            actor: command.triggeredBy,
            action: AuditAction.SigningKeyRotated,
            userId: null,
            reason: reason.value,
            details: {
              previousKid: keys.previousKid,
              newKid: keys.newKid,
              previousStatus: keys.previousKid === null ? null : 'retired',
              retiredKids: keys.retiredKids,
              globalRotation: outcome.newVersion,
            },
          });
        }
        await repos.audit.append({
          occurredAt: rotatedAt,
          actor: command.triggeredBy,
          action: AuditAction.GlobalRotation,
          userId: null,
          reason: reason.value,
          details,
        });
        await appendEvent(repos.outbox, this.ctx.tokens, EventType.GlobalTokenRotationSucceeded, rotatedAt, {
          ...attempt,
          ...details,
          rotatedAt: rotatedAt.toISOString(),
        });
        return outcome;
      });
      this.ctx.metrics.rotation('global', 'succeeded');
      this.ctx.versionListener.globalVersionChanged(result.newVersion);
      if (result.newSigningKeyId !== undefined) await signingKeysChanged(this.ctx);
      return ok(result);
    } catch (cause) {
      this.ctx.metrics.rotation('global', 'failed');
      await recordRotationFailure(this.ctx, {
        scope: 'global',
        triggeredBy: command.triggeredBy,
        reason: reason.value,
        userId: null,
        cause,
      });
      throw cause;
    }
  }
}
