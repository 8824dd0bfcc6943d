import {
  type ChainPoint,
  type ChainRow,
  type ChainVerdict,
  unchainedRowBreak,
  verifyChain,
} from '../../../domain/audit-chain.js';
import type { AppContext } from '../../context.js';
import type { AuditChainState } from '../../ports/audit-repository.js';

/** Rows read per query: the trail is read in pages, never in one result set. */
const PAGE = 1000;

/** The trail checked against its own head (docs/DESIGN.md, "The audit hash chain"). */
export interface AuditVerification {
  readonly state: AuditChainState;
  readonly verdict: ChainVerdict;
}

/** The audit trail as chained: every row in seq order, for export and verification. */
export class AuditTrailQuery {
  constructor(private readonly ctx: AppContext) {}

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
  async verify(checkpoints: readonly ChainPoint[] = []): Promise<AuditVerification> {
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
    const verdict = verifyChain(rows, { head: state.head, checkpoints });
    // A row with no seq is not among the rows read in seq order: looked for apart.
    const unchained = verdict.ok ? await this.ctx.uow.read((repos) => repos.audit.firstUnchainedRow()) : null;
    if (unchained !== null) {
      return {
        state,
        verdict: { ...verdict, ok: false, break: unchainedRowBreak(unchained), unprovenAfterSeq: null },
      };
    }
    return { state, verdict };
  }
}
