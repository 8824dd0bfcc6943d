import type { SecurityConfig } from '../../../domain/versions.js';
import type { AppContext } from '../../context.js';

export class GetSecurityConfigQuery {
  constructor(private readonly ctx: AppContext) {}

  execute(): Promise<SecurityConfig> {
    return this.ctx.uow.read((repos) => repos.securityConfig.get());
  }
}
