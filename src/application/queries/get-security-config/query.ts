import { ok, type Result } from '../../../domain/result.js';
import type { SecurityConfigView } from '../../../domain/rotation-schedule.js';
import type { AppContext } from '../../context.js';

/** The versions, the default grace period and the rotation schedule with its next due time. */
export class GetSecurityConfigQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(): Promise<Result<SecurityConfigView>> {
    return ok(
      await this.ctx.uow.read(async (repos) => ({
        ...(await repos.securityConfig.get()),
        rotationSchedule: await repos.securityConfig.getSchedule(),
      })),
    );
  }
}
