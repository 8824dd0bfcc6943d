import type { AuditEntry, AuditRecord } from '../../domain/audit-entry.js';
import type { Page } from '../../domain/page.js';

/** Which audit rows to list, and the page. */
export interface AuditFilter {
  readonly action?: string;
  readonly userId?: string;
  readonly since?: Date;
  /** Exclusive: rows strictly before this instant. */
  readonly until?: Date;
  readonly limit: number;
  readonly cursor?: string;
}

export interface AuditRepository {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first; the cursor is opaque to callers. */
  list(filter: AuditFilter): Promise<Page<AuditRecord>>;
  /**
   * How many rows of each of `actions` fell in each interval of `bucketSeconds` from
   * `since` (inclusive) to `until` (exclusive); `bucket` 0 starts at `since`. Only
   * non-empty intervals are returned.
   */
  countByInterval(
    window: ActivityWindow & { readonly actions: readonly string[] },
  ): Promise<readonly { readonly action: string; readonly bucket: number; readonly count: number }[]>;
}

/** A time window cut into equal intervals, for the console's activity chart. */
export interface ActivityWindow {
  readonly since: Date;
  readonly until: Date;
  readonly bucketSeconds: number;
}
