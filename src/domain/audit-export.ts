import type { ChainPoint, ChainRow } from './audit-chain.js';

/** The first line's `format`: what a reader of an export checks before anything else. */
export const AUDIT_EXPORT_FORMAT = 'tokenwarden-audit-export/1';

/** The first line of an export: where the chain stood when it was read. */
export interface AuditExportHeader {
  readonly format: typeof AUDIT_EXPORT_FORMAT;
  readonly exportedAt: string;
  readonly head: ChainPoint;
  /** Rows up to this seq were chained at upgrade time (0: none). */
  readonly upgradeSeq: number;
  /** Where the trail starts once retention pruned its beginning: the last row removed, and its signed checkpoint. */
  readonly anchor?: { readonly seq: number; readonly hash: string; readonly checkpoint: string };
  /** The checkpoints the server stored, up to the head (compact JWS, ascending seq). */
  readonly checkpoints?: readonly string[];
}

/** One row of an export as a JSON line: every field the hash covers, and the hashes. */
export function auditExportLine(row: ChainRow): string {
  return JSON.stringify({
    seq: row.seq,
    id: row.id,
    occurredAt: row.content.occurredAt,
    actor: row.content.actor,
    action: row.content.action,
    userId: row.content.userId,
    reason: row.content.reason,
    details: row.content.details,
    prevHash: row.prevHash,
    hash: row.hash,
  });
}

export type ParsedAuditExport =
  | { readonly ok: true; readonly header: AuditExportHeader; readonly rows: readonly ChainRow[] }
  | { readonly ok: false; readonly line: number; readonly message: string };

/**
 * Reads an export back (JSON Lines: the header, then one row a line; blank lines ignored).
 * A line that is not a row of this format is an error naming its line number: a verifier
 * must not skip what it cannot read.
 *
 * @example
 * const parsed = parseAuditExport(text);
 * if (parsed.ok) verifyChain(parsed.rows, { head: parsed.header.head });
 */
export function parseAuditExport(text: string): ParsedAuditExport {
  const lines = text.split('\n');
  let header: AuditExportHeader | null = null;
  const rows: ChainRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return { ok: false, line: i + 1, message: 'not JSON' };
    }
    if (header === null) {
      if (!isHeader(value)) return { ok: false, line: i + 1, message: `not a ${AUDIT_EXPORT_FORMAT} header` };
      header = value;
      continue;
    }
    const row = toRow(value);
    if (row === null)
      return { ok: false, line: i + 1, message: 'not an audit row (seq, id, hashes and fields)' };
    rows.push(row);
  }
  if (header === null) return { ok: false, line: 1, message: `empty: no ${AUDIT_EXPORT_FORMAT} header` };
  return { ok: true, header, rows };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isHash = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isText = (v: unknown): v is string => typeof v === 'string';
const isTextOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

function isHeader(v: unknown): v is AuditExportHeader {
  return (
    isRecord(v) &&
    v.format === AUDIT_EXPORT_FORMAT &&
    isText(v.exportedAt) &&
    isRecord(v.head) &&
    isSeq(v.head.seq) &&
    isHash(v.head.hash) &&
    isSeq(v.upgradeSeq) &&
    (v.anchor === undefined ||
      (isRecord(v.anchor) && isSeq(v.anchor.seq) && isHash(v.anchor.hash) && isText(v.anchor.checkpoint))) &&
    (v.checkpoints === undefined || (Array.isArray(v.checkpoints) && v.checkpoints.every(isText)))
  );
}

function toRow(v: unknown): ChainRow | null {
  if (
    !isRecord(v) ||
    !isSeq(v.seq) ||
    !isText(v.id) ||
    !isText(v.occurredAt) ||
    !isText(v.actor) ||
    !isText(v.action) ||
    !isTextOrNull(v.userId) ||
    !isTextOrNull(v.reason) ||
    !('details' in v) ||
    // Any text: a tampered hash is the verifier's to name, not a reason to stop reading.
    !isText(v.prevHash) ||
    !isText(v.hash)
  ) {
    return null;
  }
  return {
    id: v.id,
    seq: v.seq,
    prevHash: v.prevHash,
    hash: v.hash,
    content: {
      occurredAt: v.occurredAt,
      actor: v.actor,
      action: v.action,
      userId: v.userId,
      reason: v.reason,
      details: v.details,
    },
  };
}
