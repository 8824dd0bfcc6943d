import { validationError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import {
  isValidGracePeriod,
  MAX_GRACE_PERIOD_SECONDS,
  type SecurityConfig,
} from '../../../domain/versions.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import type { UpdateSecurityConfig } from './command.js';

export class UpdateSecurityConfigHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: UpdateSecurityConfig): Promise<Result<SecurityConfig>> {
    if (!isValidGracePeriod(command.gracePeriodSeconds)) {
      return err(
        validationError([
          {
            path: '/gracePeriodSeconds',
            message: `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}`,
          },
        ]),
      );
    }
    return this.ctx.uow.run(async (repos) => {
      const now = this.ctx.clock.now();
      const before = await repos.securityConfig.get('update');
      const after = await repos.securityConfig.setGracePeriod(command.gracePeriodSeconds, now);
      await recordChange(this.ctx, repos, EventType.SecurityConfigUpdated, {
        occurredAt: now,
        actor: command.actor,
        action: AuditAction.SecurityConfigUpdated,
        userId: null,
        reason: null,
        details: { gracePeriodSeconds: { from: before.gracePeriodSeconds, to: after.gracePeriodSeconds } },
      });
      return ok(after);
    });
  }
}
