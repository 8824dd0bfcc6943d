import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HkdfSuccessorSealer } from '../../src/infrastructure/crypto/hkdf-successor-sealer.js';
import { type TestDatabase, testDatabases } from '../support/databases.js';
import { startTestApp, type TestApp, useTestApp } from '../support/test-app.js';

/** What a database dump holds of one session's refresh tokens, oldest first. */
async function dumpSession(t: TestApp, sessionId: string) {
  return t.tw.db
    .selectFrom('refresh_tokens')
    .select(['id', 'parent_id', 'used_at', 'successor_sealed'])
    .where('session_id', '=', sessionId)
    .orderBy('created_at')
    .orderBy('used_at')
    .execute();
}

/**
 * The attack sealing must withstand (docs/DESIGN.md §3): from one old, rotated refresh token and a dump, open each
 * sealed successor in turn (HKDF + AES-GCM under the parent's plaintext).
 */
function walk(rows: Awaited<ReturnType<typeof dumpSession>>, oldToken: string): string[] {
  const sealer = new HkdfSuccessorSealer();
  const walked: string[] = [];
  let token = oldToken;
  for (const row of rows) {
    if (row.successor_sealed === null) break;
    const next = sealer.open(token, row.successor_sealed);
    if (next === null) break;
    walked.push(next);
    token = next;
  }
  return walked;
}

async function usedRowsStillSealed(t: TestApp): Promise<number> {
  const row = await t.tw.db
    .selectFrom('refresh_tokens')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('used_at', 'is not', null)
    .where('successor_sealed', 'is not', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe.each(testDatabases())(
  'sealed successors are unreadable after the reuse interval on $name',
  (target) => {
    const t = useTestApp(target);
    let n = 0;
    const freshPair = async () => {
      const email = `sealed${++n}@example.com`;
      await t.register(email);
      return t.login(email);
    };

    it('before the interval the sweep keeps them and a retry still gets the same successor', async () => {
      const pair = await freshPair();
      const first = (await t.refresh(pair.refreshToken)).json();
      t.clock.advance(5);
      expect(await t.tw.successorSweep.sweepSealedSuccessors()).toBe(0);
      const retry = await t.refresh(pair.refreshToken);
      expect(retry.statusCode).toBe(200);
      expect(retry.json().refreshToken).toBe(first.refreshToken);
    });

    it('after interval + sweep no used token holds a sealed successor, and the walk yields nothing', async () => {
      const pair = await freshPair();
      const a = (await t.refresh(pair.refreshToken)).json();
      const b = (await t.refresh(a.refreshToken)).json();
      const c = (await t.refresh(b.refreshToken)).json();
      // Inside the interval the seal is what makes retries idempotent: a dump walks the chain.
      expect(walk(await dumpSession(t, pair.sessionId), pair.refreshToken)).toEqual([
        a.refreshToken,
        b.refreshToken,
        c.refreshToken,
      ]);

      t.clock.advance(11);
      expect(await t.tw.successorSweep.sweepSealedSuccessors()).toBeGreaterThanOrEqual(3);
      expect(await usedRowsStillSealed(t)).toBe(0);
      const rows = await dumpSession(t, pair.sessionId);
      expect(rows.filter((r) => r.used_at !== null)).toHaveLength(3);
      expect(walk(rows, pair.refreshToken)).toEqual([]);
      // The live token is untouched: it still refreshes.
      expect((await t.refresh(c.refreshToken)).statusCode).toBe(200);
    });

    it('the next touch after the interval clears the seals without waiting for the sweep', async () => {
      const pair = await freshPair();
      const a = (await t.refresh(pair.refreshToken)).json();
      await t.refresh(a.refreshToken);
      t.clock.advance(11);
      const reused = await t.refresh(pair.refreshToken);
      expect(reused.json().code).toBe('token_reused');
      const rows = await dumpSession(t, pair.sessionId);
      expect(rows.filter((r) => r.successor_sealed !== null)).toEqual([]);
    });

    it('a replay past the interval is reuse even while the seal is still stored', async () => {
      const pair = await freshPair();
      await t.refresh(pair.refreshToken);
      t.clock.advance(11);
      // No sweep ran: the sealed value is there, and must not be used.
      expect((await dumpSession(t, pair.sessionId)).some((r) => r.successor_sealed !== null)).toBe(true);
      expect((await t.refresh(pair.refreshToken)).json().code).toBe('token_reused');
    });

    it('sweeps in bounded batches until none is left', async () => {
      const pairs = await Promise.all([freshPair(), freshPair(), freshPair(), freshPair(), freshPair()]);
      for (const pair of pairs) expect((await t.refresh(pair.refreshToken)).statusCode).toBe(200);
      t.clock.advance(11);
      const statements: number[] = [];
      const cleared = await t.tw.successorSweep.sweepSealedSuccessors({
        batchSize: 2,
        onBatch: (count) => statements.push(count),
      });
      expect(cleared).toBeGreaterThanOrEqual(5);
      expect(statements.every((count) => count <= 2)).toBe(true);
      expect(statements.at(-1)).toBeLessThan(2);
      expect(await usedRowsStillSealed(t)).toBe(0);
    });
  },
);

describe.each(testDatabases())('the successor sweep runs by itself in a server on $name', (target) => {
  let database: TestDatabase | undefined;
  let t: TestApp | undefined;
  beforeAll(async () => {
    database = await target.create();
    t = await startTestApp(database, { TOKENWARDEN_SUCCESSOR_SWEEP_INTERVAL_SECONDS: '1' });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  it('clears what is past the interval within the sweep interval, and stops on close', async () => {
    const app = t as TestApp;
    await app.register('timer@example.com');
    const pair = await app.login('timer@example.com');
    await app.refresh(pair.refreshToken);
    app.clock.advance(11);
    await expect.poll(() => usedRowsStillSealed(app), { timeout: 5_000, interval: 50 }).toBe(0);
    expect(app.tw.successorSweep.running()).toBe(true);
    t = undefined;
    await app.close();
    expect(app.tw.successorSweep.running()).toBe(false);
  });
});
