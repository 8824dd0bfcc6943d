import type { AppContext } from '../../context.js';
import type { AuditRecord, Page } from '../../ports/repositories.js';

export interface AuditFilter {
  readonly action?: string;
  readonly userId?: string;
  readonly since?: Date;
  readonly limit: number;
  readonly cursor?: string;
}

export class ListAuditEventsQuery {
  constructor(private readonly ctx: AppContext) {}

  execute(filter: AuditFilter): Promise<Page<AuditRecord>> {
    return this.ctx.uow.read((repos) => repos.audit.list(filter));
  }
}
