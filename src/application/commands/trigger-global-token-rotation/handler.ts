import { ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { recordRotationFailure } from '../../rotation-failure.js';
import type { TriggerGlobalTokenRotation } from './command.js';
import {
  afterGlobalRotation,
  type GlobalRotationResult,
  rotateGlobalInTransaction,
} from './rotate-global.js';
import { validateGlobalRotation } from './validate.js';

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
      const result = await this.ctx.uow.run((repos) =>
        rotateGlobalInTransaction(this.ctx, repos, {
          triggeredBy: command.triggeredBy,
          reason: reason.value,
          gracePeriodSeconds: command.gracePeriodSeconds,
          rotateSigningKey: command.rotateSigningKey,
        }),
      );
      await afterGlobalRotation(this.ctx, result);
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
