import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  auditTimeText,
  type ChainContent,
  type ChainRow,
  canonicalJson,
  chainHash,
  chainPreimage,
  GENESIS_HASH,
  storableDetails,
  storableText,
  verifyChain,
} from './audit-chain.js';

const trickyChar = fc.constantFrom(
  'a',
  'é',
  '\u0000',
  '\ud800',
  '\udc00',
  '\u202e',
  '\u2066',
  '😀',
  '"',
  '\\',
  '\n',
  '\u2028',
);
const trickyText = fc.oneof(
  fc.string(),
  fc.array(trickyChar, { maxLength: 6 }).map((c) => c.join('')),
);
const details = fc.dictionary(
  trickyText,
  fc.oneof(
    trickyText,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
  ),
  { maxKeys: 4 },
);
const content: fc.Arbitrary<ChainContent> = fc.record({
  occurredAt: fc
    .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
    .map(auditTimeText),
  actor: trickyText.map(storableText),
  action: fc.constantFrom('token_rotation.global', 'user.disabled', 'session.logout'),
  userId: fc.option(fc.uuid(), { nil: null }),
  reason: fc.option(trickyText.map(storableText), { nil: null }),
  details: details.map(storableDetails),
});

/** A valid chain of `contents`, ids counting from 100 so they differ from the seqs. */
function chainOf(contents: readonly ChainContent[]): ChainRow[] {
  const rows: ChainRow[] = [];
  let prev = GENESIS_HASH;
  contents.forEach((c, i) => {
    const seq = i + 1;
    const hash = chainHash(seq, prev, c);
    rows.push({ id: String(100 + i), seq, prevHash: prev, hash, content: c });
    prev = hash;
  });
  return rows;
}

const chain = fc.array(content, { minLength: 3, maxLength: 12 }).map(chainOf);

describe('the canonical encoding', () => {
  it('is a JSON array a JSON parser reads back to the same fields', () => {
    fc.assert(
      fc.property(content, (c) => {
        const text = chainPreimage(7, GENESIS_HASH, c);
        expect(JSON.parse(text)).toEqual([
          1,
          7,
          GENESIS_HASH,
          c.occurredAt,
          c.actor,
          c.action,
          c.userId,
          c.reason,
          c.details,
        ]);
      }),
    );
  });

  it('resolves keys that become one the same way whatever order they came in', () => {
    // Found by the property below (seed -567391665): NUL and a lone surrogate both store as U+FFFD.
    const one = storableDetails({ '\u0000': null, '\udc00': 0 });
    const other = storableDetails({ '\udc00': 0, '\u0000': null });
    expect(canonicalJson(one)).toBe(canonicalJson(other));
    expect(one).toEqual({ '\ufffd': 0 });
  });

  it('does not depend on the order of keys in details, as jsonb does not keep it', () => {
    fc.assert(
      fc.property(details, (d) => {
        const reversed = Object.fromEntries(Object.entries(d).reverse());
        expect(canonicalJson(storableDetails(reversed))).toBe(canonicalJson(storableDetails(d)));
      }),
    );
  });

  it('gives storable details that survive a JSON round trip unchanged (what jsonb returns)', () => {
    fc.assert(
      fc.property(details, (d) => {
        const stored = storableDetails(d);
        expect(canonicalJson(JSON.parse(JSON.stringify(stored)))).toBe(canonicalJson(stored));
        expect(JSON.stringify(stored)).not.toMatch(/\\u0000|\\ud[89ab]|\\ud[c-f]/);
      }),
    );
  });

  it('stores text as UTF-8 would carry it: lone surrogates and NUL become U+FFFD, bidi controls stay', () => {
    expect(storableText('a\u0000b\ud800c\udc00')).toBe('a\ufffdb\ufffdc\ufffd');
    expect(storableText('😀\u202e\u2066')).toBe('😀\u202e\u2066');
    fc.assert(
      fc.property(trickyText, (t) => {
        const s = storableText(t);
        expect(storableText(s)).toBe(s);
        expect(new TextDecoder().decode(new TextEncoder().encode(s))).toBe(s);
      }),
    );
  });

  it('writes times with microseconds in UTC, as to_char reads them back', () => {
    expect(auditTimeText(new Date('2026-12-06T15:00:13.123Z'))).toBe('2026-12-06T15:00:13.123000Z');
  });

  it('changes the hash when any field, the seq or the predecessor changes', () => {
    fc.assert(
      fc.property(content, content, (a, b) => {
        fc.pre(canonicalJson(a) !== canonicalJson(b));
        expect(chainHash(1, GENESIS_HASH, a)).not.toBe(chainHash(1, GENESIS_HASH, b));
        expect(chainHash(1, GENESIS_HASH, a)).not.toBe(chainHash(2, GENESIS_HASH, a));
        expect(chainHash(1, GENESIS_HASH, a)).not.toBe(chainHash(1, 'f'.repeat(64), a));
      }),
    );
  });
});

describe('verifyChain', () => {
  it('accepts an intact chain, with its head', () => {
    fc.assert(
      fc.property(chain, (rows) => {
        const last = rows.at(-1) as ChainRow;
        const verdict = verifyChain(rows, { head: { seq: last.seq, hash: last.hash } });
        expect(verdict).toMatchObject({
          ok: true,
          rows: rows.length,
          lastSeq: last.seq,
          unprovenAfterSeq: 0,
        });
      }),
    );
  });

  it('names an edited row', () => {
    fc.assert(
      fc.property(chain, fc.nat(), fc.string({ minLength: 1 }), (rows, pick, reason) => {
        const i = pick % rows.length;
        const row = rows[i] as ChainRow;
        fc.pre(row.content.reason !== reason);
        rows[i] = { ...row, content: { ...row.content, reason } };
        expect(verifyChain(rows).break).toMatchObject({ kind: 'edited', seq: row.seq, id: row.id });
      }),
    );
  });

  it('names the row after a deleted one as missing its predecessor', () => {
    fc.assert(
      fc.property(chain, fc.nat(), (rows, pick) => {
        const i = 1 + (pick % (rows.length - 1));
        const after = rows[i + 1];
        rows.splice(i, 1);
        const verdict = verifyChain(rows);
        if (after === undefined)
          expect(verdict.ok).toBe(true); // a removed last row needs the head or a checkpoint
        else expect(verdict.break).toMatchObject({ kind: 'missing', seq: after.seq, id: after.id });
      }),
    );
  });

  it('names a deleted first row, and a deleted last row against the head', () => {
    const rows = chainOf([sample('a'), sample('b'), sample('c')]);
    expect(verifyChain(rows.slice(1))).toMatchObject({ ok: true, unanchoredStart: true });
    expect(verifyChain(rows.slice(1), { anchor: { seq: 0, hash: GENESIS_HASH } }).break).toMatchObject({
      kind: 'missing',
      seq: 2,
    });
    const head = { seq: 3, hash: (rows[2] as ChainRow).hash };
    expect(verifyChain(rows.slice(0, 2), { head }).break).toMatchObject({
      kind: 'truncated',
      seq: 3,
      id: null,
    });
  });

  it('names an inserted row, whether its hash is made up or correctly computed', () => {
    fc.assert(
      fc.property(chain, fc.nat(), content, fc.boolean(), (rows, pick, extra, computed) => {
        const i = 1 + (pick % (rows.length - 1));
        const before = rows[i - 1] as ChainRow;
        const seq = before.seq + 1;
        const hash = computed ? chainHash(seq, before.hash, extra) : 'e'.repeat(64);
        // The attacker renumbers the rows after it to make room.
        const shifted = rows.slice(i).map((row) => ({ ...row, seq: row.seq + 1 }));
        const intruder = { id: '999', seq, prevHash: before.hash, hash, content: extra };
        const tampered = [...rows.slice(0, i), intruder, ...shifted];
        expect(verifyChain(tampered).break).toMatchObject({ kind: 'inserted', seq, id: '999' });
      }),
    );
  });

  it('names a row past the head as inserted', () => {
    const rows = chainOf([sample('a'), sample('b')]);
    const last = rows[1] as ChainRow;
    const extra = {
      id: '7',
      seq: 3,
      prevHash: last.hash,
      hash: chainHash(3, last.hash, sample('c')),
      content: sample('c'),
    };
    expect(verifyChain([...rows, extra], { head: { seq: 2, hash: last.hash } }).break).toMatchObject({
      kind: 'inserted',
      seq: 3,
      id: '7',
    });
  });

  it('names a reordered row, whether the order or the seqs were swapped', () => {
    fc.assert(
      fc.property(chain, fc.nat(), (rows, pick) => {
        const i = pick % (rows.length - 1);
        const a = rows[i] as ChainRow;
        const b = rows[i + 1] as ChainRow;
        const swappedOrder = [...rows];
        swappedOrder[i] = b;
        swappedOrder[i + 1] = a;
        expect(verifyChain(swappedOrder).break).toMatchObject({ kind: 'reordered', id: b.id });
        const swappedSeqs = [...rows];
        swappedSeqs[i] = { ...b, seq: a.seq };
        swappedSeqs[i + 1] = { ...a, seq: b.seq };
        expect(verifyChain(swappedSeqs).break).toMatchObject({ kind: 'reordered', seq: a.seq, id: b.id });
      }),
    );
  });

  it('finds a truncated tail when a later checkpoint exists, and says what is unproven', () => {
    const rows = chainOf(['a', 'b', 'c', 'd'].map(sample));
    const at = (seq: number) => ({ seq, hash: (rows[seq - 1] as ChainRow).hash });
    expect(verifyChain(rows, { checkpoints: [at(2)] })).toMatchObject({ ok: true, unprovenAfterSeq: 2 });
    expect(verifyChain(rows, { checkpoints: [at(2), at(4)] })).toMatchObject({
      ok: true,
      unprovenAfterSeq: null,
    });
    expect(verifyChain(rows.slice(0, 3), { checkpoints: [at(2), at(4)] }).break).toMatchObject({
      kind: 'truncated',
      seq: 4,
    });
  });

  it('finds a chain rewritten below a checkpoint', () => {
    const rows = chainOf(['a', 'b', 'c'].map(sample));
    const rewritten = chainOf(['a', 'B', 'c'].map(sample));
    const point = { seq: 3, hash: (rows[2] as ChainRow).hash };
    expect(verifyChain(rewritten).ok).toBe(true);
    expect(verifyChain(rewritten, { checkpoints: [point] }).break).toMatchObject({ kind: 'edited', seq: 3 });
  });

  it('starts after an anchor (a pruned prefix)', () => {
    const rows = chainOf(['a', 'b', 'c', 'd'].map(sample));
    const anchor = { seq: 2, hash: (rows[1] as ChainRow).hash };
    expect(verifyChain(rows.slice(2), { anchor })).toMatchObject({
      ok: true,
      unanchoredStart: false,
      firstSeq: 3,
    });
    expect(verifyChain(rows.slice(3), { anchor }).break).toMatchObject({ kind: 'missing', seq: 4 });
  });
});

function sample(reason: string): ChainContent {
  return {
    occurredAt: '2026-12-06T15:00:13.123000Z',
    actor: 'system',
    action: 'token_rotation.global',
    userId: null,
    reason,
    details: { n: 1 },
  };
}
