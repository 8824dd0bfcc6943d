import type { AuditEntry, AuditRecord } from '../../domain/audit-entry.js';
import type { Page } from '../../domain/page.js';

export interface AuditRepository {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first; the cursor is opaque to callers. */
  list(filter: {
    readonly action?: string;
    readonly userId?: string;
    readonly since?: Date;
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Page<AuditRecord>>;
}
