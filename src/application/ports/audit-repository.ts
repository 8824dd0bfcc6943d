import type { ChainPoint, ChainRow } from '../../domain/audit-chain.js';
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

/** Where the audit hash chain stands (docs/DESIGN.md, "The audit hash chain"). */
export interface AuditChainState {
  /** The last row chained: seq 0 and the genesis hash before any. */
  readonly head: ChainPoint;
  /** Rows up to this seq were chained when the chain was introduced, not as they were written. */
  readonly upgradeSeq: number;
  readonly upgradedAt: Date;
}

/** Where a page of the chain starts: after this row (ascending seq, then id). */
export interface ChainCursor {
  readonly seq: number;
  readonly id: string;
}

/** Rows written and not chained yet (docs/AUDIT.md, "Pending rows"). */
export interface PendingRows {
  readonly count: number;
  /** The earliest `occurred_at` among them; null when there are none. */
  readonly oldestAt: Date | null;
  /** The lowest id among those older than the bound asked for: a stuck chainer or a slipped-in row. */
  readonly staleId: string | null;
}

export interface ChainAnchor {
  readonly seq: number;
  readonly hash: string;
  /** The stored checkpoint at `seq`, compact JWS. */
  readonly checkpoint: string;
}

export interface StoredCheckpoints {
  readonly keys: { readonly keys: readonly unknown[] };
  readonly checkpoints: readonly { readonly seq: number; readonly jws: string }[];
}

export interface AuditRepository {
  /**
   * Writes the row, unchained (the chainer gives it its place after the commit): inside a
   * unit of work at the end of its transaction, else at once in one statement.
   */
  append(entry: AuditEntry): Promise<void>;
  /** The chain's head row as stored. */
  chainState(): Promise<AuditChainState>;
  /** Up to `limit` rows after `after` (from the first when null), by seq then id, as stored. */
  chainRows(after: ChainCursor | null, limit: number): Promise<readonly ChainRow[]>;
  /**
   * The rows not chained yet (seq null: written, waiting for the chainer), and the lowest id
   * among those that occurred before `staleBefore` (null: none).
   */
  pendingRows(staleBefore: Date): Promise<PendingRows>;
  /**
   * The checkpoints the server signed and stored (ascending seq, compact JWS as sent out) and
   * the public JWK Set of the key that signs them, for a verifier to check them again.
   */
  storedCheckpoints(): Promise<StoredCheckpoints>;
  /** The last row retention removed and the checkpoint that signs it; null while nothing was pruned. */
  chainAnchor(): Promise<ChainAnchor | null>;
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
