import { ok, type Result } from '../../../domain/result.js';
import { graceUntil } from '../../../domain/versions.js';
import type { AppContext } from '../../context.js';
import { AuditAction, appendEvent, EventType, recordChange } from '../../events.js';
import type { Repositories } from '../../ports/repositories.js';
import { recordRotationFailure } from '../../rotation-failure.js';
import { signingKeysChanged } from '../../signing-keys-changed.js';
import type { TriggerGlobalTokenRotation } from './command.js';
import { validateGlobalRotation } from './validate.js';

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

/**
 * One transaction: increment the global version, record when, why and until when
 * one-behind tokens keep working, and write the audit row and outbox events. No
 * token row is touched, so the cost does not depend on how many tokens exist.
 * The dry run is a query: PreviewGlobalRotationQuery.
 */
export class TriggerGlobalTokenRotationHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: TriggerGlobalTokenRotation): Promise<Result<GlobalRotationResult>> {
    const reason = validateGlobalRotation(this.ctx, command);
    if (!reason.ok) return reason;
    try {
      const result = await this.ctx.uow.run((repos) => this.rotate(repos, command, reason.value));
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

  private async rotate(
    repos: Repositories,
    command: TriggerGlobalTokenRotation,
    reason: string,
  ): Promise<GlobalRotationResult> {
    const rotatedAt = this.ctx.clock.now();
    const attempt = { triggeredBy: command.triggeredBy, reason };
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
      reason,
      graceUntil: until,
    });
    const newVersion = config.globalMinTokenVersion;
    const keys =
      command.rotateSigningKey === true
        ? await this.replaceSigningKeys(repos, { rotatedAt, actor: command.triggeredBy, reason, newVersion })
        : {};
    const details = {
      previousVersion,
      newVersion,
      gracePeriodSeconds,
      graceUntil: until.toISOString(),
      ...keys,
    };
    await recordChange(
      this.ctx,
      repos,
      EventType.GlobalTokenRotationSucceeded,
      {
        occurredAt: rotatedAt,
        actor: command.triggeredBy,
        action: AuditAction.GlobalRotation,
        userId: null,
        reason,
        details,
      },
      { ...attempt, ...details, rotatedAt: rotatedAt.toISOString() },
    );
    return { previousVersion, newVersion, gracePeriodSeconds, graceUntil: until, rotatedAt, ...keys };
  }

  /**
   * Access tokens are checked against the versions too, but one-behind ones pass in
   * the grace window: retiring the key that signed them is what kills them all now.
   */
  private async replaceSigningKeys(
    repos: Repositories,
    input: {
      readonly rotatedAt: Date;
      readonly actor: string;
      readonly reason: string;
      readonly newVersion: number;
    },
  ): Promise<{ readonly retiredSigningKeyId: string | null; readonly newSigningKeyId: string }> {
    const keys = await repos.signingKeys.rotate(input.rotatedAt, { retireOthers: true });
    await recordChange(this.ctx, repos, EventType.SigningKeyRotated, {
      occurredAt: input.rotatedAt,
      actor: input.actor,
      action: AuditAction.SigningKeyRotated,
      userId: null,
      reason: input.reason,
      details: {
        previousKid: keys.previousKid,
        newKid: keys.newKid,
        previousStatus: keys.previousKid === null ? null : 'retired',
        retiredKids: keys.retiredKids,
        globalRotation: input.newVersion,
      },
    });
    return { retiredSigningKeyId: keys.previousKid, newSigningKeyId: keys.newKid };
  }
}
