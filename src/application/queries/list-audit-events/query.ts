import type { AuditRecord } from '../../../domain/audit-entry.js';
import type { Page } from '../../../domain/page.js';
import type { Result } from '../../../domain/result.js';
import { asResult } from '../../as-result.js';
import type { AppContext } from '../../context.js';
import type { AuditFilter } from '../../ports/audit-repository.js';

export class ListAuditEventsQuery {
  constructor(private readonly ctx: AppContext) {}

  /** Fails (`validation_failed`) on a cursor this list did not issue. */
  execute(filter: AuditFilter): Promise<Result<Page<AuditRecord>>> {
    return asResult(() => this.ctx.uow.read((repos) => repos.audit.list(filter)));
  }
}
