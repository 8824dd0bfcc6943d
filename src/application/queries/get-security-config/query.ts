import { ok, type Result } from '../../../domain/result.js';
import type { SecurityConfig } from '../../../domain/versions.js';
import type { AppContext } from '../../context.js';

export class GetSecurityConfigQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(): Promise<Result<SecurityConfig>> {
    return ok(await this.ctx.uow.read((repos) => repos.securityConfig.get()));
  }
}
