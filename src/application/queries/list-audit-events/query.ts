import type { AuditRecord } from '../../../domain/audit-entry.js';
import type { Page } from '../../../domain/page.js';
import type { AppContext } from '../../context.js';

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
