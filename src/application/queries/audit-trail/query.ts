import {
  AUDIT_PENDING_BOUND_SECONDS,
  type ChainPoint,
  type ChainRow,
  type ChainVerdict,
  unchainedRowBreak,
  verifyChain,
} from '../../../domain/audit-chain.js';
import { checkpointKeys, verifyCheckpoint } from '../../../domain/audit-checkpoint.js';
import type { AppContext } from '../../context.js';
import type { AuditChainState, ChainAnchor } from '../../ports/audit-repository.js';

/** Rows read per query: the trail is read in pages, never in one result set. */
const PAGE = 1000;

/** The trail checked against its own head (docs/DESIGN.md, "The audit hash chain"). */
export interface AuditVerification {
  readonly state: AuditChainState;
  readonly verdict: ChainVerdict;
  /** With `stored`: the stored checkpoints checked, the newest one's seq, and those refused. */
  readonly stored: StoredCheckpointCheck | null;
  /**
   * Where the trail starts when retention pruned its beginning: the anchor's seq and hash,
   * and whether its signature holds (refused: the trail is checked as unanchored, and is not
   * intact). Null while nothing was pruned.
   */
  readonly anchor: AnchorCheck | null;
  /**
   * Rows written and not chained yet: not covered by the verdict (docs/AUDIT.md, "Pending
   * rows"). One older than `boundSeconds` makes the verdict a break naming it.
   */
  readonly pending: PendingCheck;
}

interface PendingCheck {
  readonly count: number;
  /** Seconds since the earliest one occurred (null: none pending). */
  readonly oldestAgeSeconds: number | null;
  readonly boundSeconds: number;
}

export interface AnchorCheck {
  readonly seq: number;
  readonly hash: string;
  /** Null when its checkpoint verifies under the stored public key; else why not. */
  readonly refused: string | null;
}

export interface StoredCheckpointCheck {
  /** Stored checkpoints whose signature holds under the stored public key. */
  readonly accepted: number;
  /** The newest accepted one's seq (null: none). */
  readonly lastSeq: number | null;
  /** Stored checkpoints that do not verify (a wrong signature, another key): never believed. */
  readonly refused: readonly { readonly seq: number; readonly reason: string }[];
}

/** The audit trail as chained: every row in seq order, for export and verification. */
export class AuditTrailQuery {
  constructor(private readonly ctx: AppContext) {}

  /** What an export carries besides the rows: the pruning anchor and the stored checkpoints up to `headSeq`. */
  async signedPoints(
    headSeq: number,
  ): Promise<{ anchor: ChainAnchor | null; checkpoints: readonly string[] }> {
    const anchor = await this.ctx.uow.read((repos) => repos.audit.chainAnchor());
    const { checkpoints } = await this.ctx.uow.read((repos) => repos.audit.storedCheckpoints());
    return {
      anchor,
      checkpoints: checkpoints
        .filter((c) => c.seq <= headSeq && (anchor === null || c.seq >= anchor.seq))
        .map((c) => c.jws),
    };
  }

  state(): Promise<AuditChainState> {
    return this.ctx.uow.read((repos) => repos.audit.chainState());
  }

  /** Every row after `from` (from the first when null), ascending seq, read a page at a time. */
  async *rows(from: { seq: number; id: string } | null = null): AsyncGenerator<ChainRow> {
    let after = from;
    for (;;) {
      const cursor = after;
      const page = await this.ctx.uow.read((repos) => repos.audit.chainRows(cursor, PAGE));
      yield* page;
      const last = page.at(-1);
      if (last === undefined || page.length < PAGE) return;
      after = { seq: last.seq, id: last.id };
    }
  }

  /**
   * Reads the rows, then the head, then the rows chained in between (up to that head): every
   * row chained before the head was read has a seq up to it, so a row past it read before
   * then was never chained, and a busy trail still verifies. `checkpoints` (their signatures
   * checked already) must each match the row at their seq.
   */
  async verify(
    checkpoints: readonly ChainPoint[] = [],
    options: { readonly stored?: boolean } = {},
  ): Promise<AuditVerification> {
    const stored = options.stored === true ? await this.#storedCheckpoints() : null;
    const points = stored === null ? checkpoints : [...checkpoints, ...stored.points];
    const rows: ChainRow[] = [];
    for await (const row of this.rows()) rows.push(row);
    const state = await this.state();
    const last = rows.at(-1);
    if (last === undefined || last.seq < state.head.seq) {
      for await (const row of this.rows(last === undefined ? null : { seq: last.seq, id: last.id })) {
        if (row.seq > state.head.seq) break;
        rows.push(row);
      }
    }
    const anchor = await this.#anchor();
    const verdict = verifyChain(rows, {
      head: state.head,
      checkpoints: points,
      ...(anchor === null || anchor.refused !== null
        ? {}
        : { anchor: { seq: anchor.seq, hash: anchor.hash } }),
    });
    const storedCheck = stored === null ? null : stored.check;
    // Pending rows (no seq yet) are not among the rows read in seq order: counted apart, after
    // the head, so a row chained meanwhile is in neither; one pending past the bound is a break.
    const now = this.ctx.clock.now();
    const pendingRows = await this.ctx.uow.read((repos) =>
      repos.audit.pendingRows(new Date(now.getTime() - AUDIT_PENDING_BOUND_SECONDS * 1000)),
    );
    const pending: PendingCheck = {
      count: pendingRows.count,
      oldestAgeSeconds:
        pendingRows.oldestAt === null
          ? null
          : Math.max(0, (now.getTime() - pendingRows.oldestAt.getTime()) / 1000),
      boundSeconds: AUDIT_PENDING_BOUND_SECONDS,
    };
    if (verdict.ok && pendingRows.staleId !== null) {
      return {
        state,
        verdict: {
          ...verdict,
          ok: false,
          break: unchainedRowBreak(pendingRows.staleId),
          unprovenAfterSeq: null,
        },
        stored: storedCheck,
        anchor,
        pending,
      };
    }
    return { state, verdict, stored: storedCheck, anchor, pending };
  }

  /** The pruning anchor, its checkpoint checked under the stored public key and against its seq and hash. */
  async #anchor(): Promise<AnchorCheck | null> {
    const anchor = await this.ctx.uow.read((repos) => repos.audit.chainAnchor());
    if (anchor === null) return null;
    const { keys } = await this.ctx.uow.read((repos) => repos.audit.storedCheckpoints());
    const check = verifyCheckpoint(anchor.checkpoint, checkpointKeys(keys));
    const refused = !check.ok
      ? check.reason
      : check.checkpoint.seq !== anchor.seq || check.checkpoint.hash !== anchor.hash
        ? `its checkpoint signs seq ${check.checkpoint.seq}, not the anchor's seq ${anchor.seq} and hash`
        : null;
    return { seq: anchor.seq, hash: anchor.hash, refused };
  }

  /**
   * The stored checkpoints, each checked again under the stored public key (strict: one that
   * does not verify is refused, never used). They live in the database: they catch a
   * careless edit, not someone who writes the database and holds the key (docs/AUDIT.md).
   */
  async #storedCheckpoints(): Promise<{ points: ChainPoint[]; check: StoredCheckpointCheck }> {
    const { keys, checkpoints } = await this.ctx.uow.read((repos) => repos.audit.storedCheckpoints());
    const byKid = checkpointKeys(keys);
    const points: ChainPoint[] = [];
    const refused: { seq: number; reason: string }[] = [];
    for (const { seq, jws } of checkpoints) {
      const check = verifyCheckpoint(jws, byKid);
      if (!check.ok) refused.push({ seq, reason: check.reason });
      else if (check.checkpoint.seq !== seq)
        refused.push({ seq, reason: `it signs seq ${check.checkpoint.seq}` });
      else points.push({ seq, hash: check.checkpoint.hash });
    }
    return { points, check: { accepted: points.length, lastSeq: points.at(-1)?.seq ?? null, refused } };
  }
}
