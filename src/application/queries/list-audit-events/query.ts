import type { AuditRecord } from '../../../domain/audit-entry.js';
import type { Page } from '../../../domain/page.js';
import type { Result } from '../../../domain/result.js';
import { asResult } from '../../as-result.js';
import type { AppContext } from '../../context.js';

export interface AuditFilter {
  readonly action?: string;
  readonly userId?: string;
  readonly since?: Date;
  /** Exclusive. */
  readonly until?: Date;
  readonly limit: number;
  readonly cursor?: string;
}

export class ListAuditEventsQuery {
  constructor(private readonly ctx: AppContext) {}

  /** Fails (`validation_failed`) on a cursor this list did not issue. */
  execute(filter: AuditFilter): Promise<Result<Page<AuditRecord>>> {
    return asResult(() => this.ctx.uow.read((repos) => repos.audit.list(filter)));
  }
}
