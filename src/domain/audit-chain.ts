import { createHash } from 'node:crypto';

/**
 * The audit trail's hash chain (docs/DESIGN.md, "The audit hash chain"): every row's
 * hash is SHA-256 over one canonical text of its sequence number, its predecessor's hash
 * and its content, so an edited, missing, inserted or reordered row breaks the chain at
 * that row. Pure: the chainer (after the writer's commit) and the verifier hash the same text.
 */

/** The first element of every preimage: a new encoding gets a new number. */
const AUDIT_CHAIN_VERSION = 1;

/** The predecessor of the first row ever chained. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an audit row the hash covers, in the form the database stores and returns. */
export interface ChainContent {
  /** `YYYY-MM-DDTHH:MM:SS.ffffffZ`: UTC, microseconds, as stored (see {@link auditTimeText}). */
  readonly occurredAt: string;
  readonly actor: string;
  readonly action: string;
  readonly userId: string | null;
  readonly reason: string | null;
  readonly details: unknown;
}

/** A chained audit row: `id` is the storage key (listed, not hashed), `seq` its place in the chain. */
export interface ChainRow {
  readonly id: string;
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  readonly content: ChainContent;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text as both databases store it: a lone surrogate becomes U+FFFD (what UTF-8 encoding
 * does on the way to the server anyway) and so does NUL (which PostgreSQL text and jsonb
 * refuse). Everything else — bidi controls, non-characters, unnormalised forms — is kept
 * byte for byte: the chain proves what is stored, not what it looks like.
 *
 * @example
 * storableText('a\u0000b\ud800'); // 'a\ufffdb\ufffd'
 */
export function storableText(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd').replaceAll('\u0000', '\ufffd');
}

/**
 * `details` as jsonb will give it back: a JSON round trip (dropping `undefined`, turning
 * dates into strings), with every string and key through {@link storableText}.
 */
export function storableDetails(details: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return normaliseStrings(JSON.parse(JSON.stringify(details) ?? '{}')) as Record<string, unknown>;
}

function normaliseStrings(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(normaliseStrings);
  if (value !== null && typeof value === 'object') {
    // Two keys can become one ('\u0000' and a lone '\udc00' both become U+FFFD): taken in the
    // order of their raw keys, the last one wins whatever order the object was built in.
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([key, inner]) => [storableText(key), normaliseStrings(inner)]));
  }
  return value;
}

/**
 * A JS date as the chain writes its time: what `to_char(t at time zone 'UTC',
 * 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` reads back from the stored timestamptz (a JS date
 * has milliseconds, so the last three digits are zeros). Years 0000–9999 only.
 *
 * @example
 * auditTimeText(new Date('2026-12-06T15:00:13.123Z')); // '2026-12-06T15:00:13.123000Z'
 */
export function auditTimeText(at: Date): string {
  const iso = at.toISOString();
  if (!/^\d{4}-/.test(iso)) throw new RangeError(`audit time out of range: ${iso}`);
  return `${iso.slice(0, 23)}000Z`;
}

/**
 * RFC 8785 (JCS) serialisation: object keys sorted by UTF-16 code units, no whitespace,
 * numbers and strings as ECMAScript's JSON.stringify writes them. Deterministic for a
 * value that came out of JSON.parse, which is what a jsonb column gives back.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    const entries = keys
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
}

/** The preimage after its `[version,seq,"prev",` head: the content's fields, in a fixed order, closing the array. */
function contentTail(content: ChainContent): string {
  return canonicalJson([
    content.occurredAt,
    content.actor,
    content.action,
    content.userId,
    content.reason,
    content.details,
  ]).slice(1);
}

/** The whole canonical text: `[1,seq,"prevHash",occurredAt,actor,action,userId,reason,details]`. */
export function chainPreimage(seq: number, prevHash: string, content: ChainContent): string {
  return `[${AUDIT_CHAIN_VERSION},${seq},${JSON.stringify(prevHash)},${contentTail(content)}`;
}

/** Lower-case hex SHA-256 of the UTF-8 preimage. */
export function chainHash(seq: number, prevHash: string, content: ChainContent): string {
  return createHash('sha256')
    .update(chainPreimage(seq, prevHash, content), 'utf8')
    .digest('hex');
}

/** A known good point of the chain: the row at `seq` had `hash`. */
export interface ChainPoint {
  readonly seq: number;
  readonly hash: string;
}

type ChainBreakKind = 'edited' | 'missing' | 'inserted' | 'reordered' | 'truncated';

export interface ChainBreak {
  readonly kind: ChainBreakKind;
  /**
   * The first row that is not as chained: the edited, inserted or misplaced one, or the one
   * after a gap; null for a row with no seq at all (see {@link unchainedRowBreak}).
   */
  readonly seq: number | null;
  /** Its storage id; null when the row itself is what is missing (a truncated tail). */
  readonly id: string | null;
  readonly detail: string;
}

export interface ChainVerdict {
  readonly ok: boolean;
  /** Rows read and checked. */
  readonly rows: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly lastHash: string | null;
  readonly break: ChainBreak | null;
  /** The first row was not seq 1 and no anchor vouched for what came before it. */
  readonly unanchoredStart: boolean;
  /** Rows after the last checkpoint given (the head included): consistent, not proven. */
  readonly unprovenAfterSeq: number | null;
}

export interface VerifyOptions {
  /** The last row before the first one given (a pruned prefix's last row). */
  readonly anchor?: ChainPoint;
  /**
   * Points the chain must pass through, checked already (signatures are the caller's
   * business): a row with a different hash, or a point past the last row, is a break.
   */
  readonly checkpoints?: readonly ChainPoint[];
  /**
   * The head the database records (its last seq and hash): rows past it were inserted, a
   * trail ending before it was truncated. Kept in the same database, so it catches a careless
   * edit, not a careful one; checkpoints held elsewhere are the proof.
   */
  readonly head?: ChainPoint;
}

/**
 * Checks rows in the order given (ascending seq from the database; file order from an
 * export) and names the first row that breaks the chain.
 *
 * How a break is classified, at the first row `r` whose link or hash is wrong, with `p`
 * the hash it should follow:
 * - `r.prevHash` is the hash of a row given later → `reordered` (r is out of place);
 * - `r.prevHash` is the hash of an earlier row than its predecessor → `inserted`: the rows
 *   between were not in the chain (the first of them is named);
 * - `r.prevHash` is no row's hash → `missing`: what preceded r is gone;
 * - `r` links to `p` but its hash is not its content's: `inserted` when the next row links to
 *   `p` too (r was slipped in), else `edited`;
 * - a checkpoint past the last row → `truncated`; a checkpoint whose row has another hash
 *   → `edited` (the chain was rewritten up to there).
 */
export function verifyChain(rows: readonly ChainRow[], options: VerifyOptions = {}): ChainVerdict {
  const base = {
    rows: rows.length,
    firstSeq: rows[0]?.seq ?? null,
    lastSeq: rows.at(-1)?.seq ?? null,
    lastHash: rows.at(-1)?.hash ?? null,
  };
  // Without an anchor, a trail that holds seq 1 starts at the genesis; one that does not is unanchored.
  const startsAtGenesis = rows.length === 0 || rows.some((row) => row.seq === 1);
  const anchor = options.anchor ?? (startsAtGenesis ? { seq: 0, hash: GENESIS_HASH } : null);
  const unanchoredStart = anchor === null;
  const broken = (b: ChainBreak): ChainVerdict => ({
    ...base,
    ok: false,
    break: b,
    unanchoredStart,
    unprovenAfterSeq: null,
  });

  const positionOfHash = new Map<string, number>();
  rows.forEach((row, i) => {
    if (!positionOfHash.has(row.hash)) positionOfHash.set(row.hash, i);
  });

  let expectedSeq = anchor === null ? (rows[0]?.seq ?? 1) : anchor.seq + 1;
  let expectedPrev = anchor?.hash ?? rows[0]?.prevHash ?? GENESIS_HASH;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as ChainRow;
    const name = `row seq ${row.seq} (id ${row.id})`;
    if (row.prevHash !== expectedPrev) {
      const at = positionOfHash.get(row.prevHash);
      if (at !== undefined && at > i) {
        return broken({
          kind: 'reordered',
          seq: row.seq,
          id: row.id,
          detail: `${name} is out of place: it follows a row given later (seq ${rows[at]?.seq})`,
        });
      }
      if (at !== undefined && at < i) {
        // Two rows claim the same predecessor: the intruder is the one the next row does not follow.
        const next = rows[i + 1];
        const first = next !== undefined && next.prevHash === expectedPrev ? row : (rows[at + 1] as ChainRow);
        return broken({
          kind: 'inserted',
          seq: first.seq,
          id: first.id,
          detail: `row seq ${first.seq} (id ${first.id}) is not in the chain: two rows follow seq ${rows[at]?.seq}`,
        });
      }
      if (row.prevHash === anchor?.hash && i > 0) {
        const first = rows[0] as ChainRow;
        return broken({
          kind: 'inserted',
          seq: first.seq,
          id: first.id,
          detail: `row seq ${first.seq} (id ${first.id}) is not in the chain: ${name} follows the start`,
        });
      }
      return broken({
        kind: 'missing',
        seq: row.seq,
        id: row.id,
        detail:
          row.seq > expectedSeq
            ? `rows seq ${expectedSeq}..${row.seq - 1} are missing before ${name}`
            : `the row before ${name} is missing`,
      });
    }
    const selfOk = chainHash(row.seq, row.prevHash, row.content) === row.hash;
    if (!selfOk || row.seq !== expectedSeq) {
      const next = rows[i + 1];
      if (next !== undefined && next.prevHash === expectedPrev) {
        return broken({
          kind: 'inserted',
          seq: row.seq,
          id: row.id,
          detail: `${name} is not in the chain: the row after it follows the row before it`,
        });
      }
      return broken({
        kind: 'edited',
        seq: row.seq,
        id: row.id,
        detail: selfOk
          ? `${name} has seq ${row.seq} where ${expectedSeq} was chained`
          : `${name} does not match its hash: its content was changed`,
      });
    }
    expectedPrev = row.hash;
    expectedSeq = row.seq + 1;
  }

  if (options.head !== undefined) {
    const headBreak = againstHead(rows, options.head, base.lastSeq);
    if (headBreak !== null) return broken(headBreak);
  }

  let lastProven: number | null = null;
  const bySeq = new Map(rows.map((row) => [row.seq, row]));
  const checkpoints = [...(options.checkpoints ?? [])].sort((a, b) => a.seq - b.seq);
  for (const point of checkpoints) {
    if (anchor !== null && point.seq <= anchor.seq) continue;
    if (base.lastSeq === null || point.seq > base.lastSeq) {
      return broken({
        kind: 'truncated',
        seq: (base.lastSeq ?? anchor?.seq ?? 0) + 1,
        id: null,
        detail: `a checkpoint vouches for seq ${point.seq} but the trail ends at ${base.lastSeq ?? 'nothing'}: the rows after it were removed`,
      });
    }
    const row = bySeq.get(point.seq);
    if (row === undefined) continue; // before the first row given: pruned, nothing to compare
    if (row.hash !== point.hash) {
      return broken({
        kind: 'edited',
        seq: row.seq,
        id: row.id,
        detail: `row seq ${row.seq} (id ${row.id}) differs from its checkpoint: the chain up to it was rewritten`,
      });
    }
    lastProven = point.seq;
  }
  const before = anchor?.seq ?? (base.firstSeq ?? 1) - 1;
  const unprovenAfterSeq =
    base.lastSeq === null || (lastProven !== null && lastProven >= base.lastSeq)
      ? null
      : (lastProven ?? before);
  return { ...base, ok: true, break: null, unanchoredStart, unprovenAfterSeq };
}

function againstHead(rows: readonly ChainRow[], head: ChainPoint, lastSeq: number | null): ChainBreak | null {
  const last = rows.at(-1);
  if (last === undefined || lastSeq === null) {
    return head.seq === 0 ? null : truncatedBefore(head, 1);
  }
  if (lastSeq < head.seq) return truncatedBefore(head, lastSeq + 1);
  if (lastSeq > head.seq) {
    const first = rows.find((row) => row.seq > head.seq) as ChainRow;
    return {
      kind: 'inserted',
      seq: first.seq,
      id: first.id,
      detail: `row seq ${first.seq} (id ${first.id}) is past the chain's head (seq ${head.seq}): it was not chained`,
    };
  }
  if (last.hash !== head.hash) {
    return {
      kind: 'edited',
      seq: last.seq,
      id: last.id,
      detail: `row seq ${last.seq} (id ${last.id}) differs from the chain's head: the chain was rewritten`,
    };
  }
  return null;
}

function truncatedBefore(head: ChainPoint, from: number): ChainBreak {
  return {
    kind: 'truncated',
    seq: from,
    id: null,
    detail: `the chain's head is seq ${head.seq} but the trail ends before seq ${from}: rows ${from}..${head.seq} were removed`,
  };
}

/**
 * How long a written row may wait for the chainer (seconds, by its `occurred_at`) before
 * verification reports it: the chainer runs right after every audited commit and sweeps every
 * second, so a row pending longer means a stuck chainer, or a row inserted behind the
 * application's back (docs/AUDIT.md, "Pending rows").
 */
export const AUDIT_PENDING_BOUND_SECONDS = 60;

/**
 * The break for a row still unchained past {@link AUDIT_PENDING_BOUND_SECONDS}: named by id
 * (it has no seq), reported as not in the chain.
 */
export function unchainedRowBreak(id: string, boundSeconds = AUDIT_PENDING_BOUND_SECONDS): ChainBreak {
  return {
    kind: 'inserted',
    seq: null,
    id,
    detail: `row id ${id} is still not chained ${boundSeconds} s after it occurred: the chainer is stuck, or the row was inserted behind the application's back`,
  };
}

/** Where a break is, for a message: `seq 5 (id 17)`, `seq 9`, or `id 17` for a row with no seq. */
export function breakPlace(b: ChainBreak): string {
  if (b.seq === null) return `id ${b.id ?? '?'} (no seq)`;
  return `seq ${b.seq}${b.id === null ? '' : ` (id ${b.id})`}`;
}
