import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chainAuditRows } from '../../../../test/support/audit-chain.js';
import { describeEachDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import { type ChainRow, verifyChain } from '../../../domain/audit-chain.js';
import type { AuditEntry } from '../../../domain/audit-entry.js';
import { auditChainMigration } from '../migrations/0013-audit-chain.js';
import { auditChainAtCommitMigration } from '../migrations/0015-audit-chain-at-commit.js';
import type { Database } from '../schema.js';
import { KyselyAuditRepository } from './kysely-audit-repository.js';
import { KyselyUnitOfWork } from './kysely-unit-of-work.js';

const t0 = new Date('2030-01-01T00:00:00.123Z');

function entry(reason: string, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    occurredAt: t0,
    actor: 'cli:root',
    action: 'user.disabled',
    userId: null,
    reason,
    details: {},
    ...overrides,
  };
}

async function allRows(db: Kysely<Database>): Promise<ChainRow[]> {
  return [...(await new KyselyAuditRepository(db).chainRows(null, 100_000))];
}

/** Chains what is pending (the chainer's work after a commit), then checks the chain against its head. */
async function verify(db: Kysely<Database>) {
  await chainAuditRows(db);
  const { head } = await new KyselyAuditRepository(db).chainState();
  return verifyChain(await allRows(db), { head });
}

describeEachDatabase('the audit hash chain', (suite) => {
  // A database of its own: these tests count every row of the chain.
  let database: TestDatabase;
  beforeAll(async () => {
    database = await suite.create();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('writes rows unchained (no seq, no head move) until the chainer gives them their place, in id order', async () => {
    const db = database.db;
    const audit = new KyselyAuditRepository(db);
    const before = await audit.chainState();
    await audit.append(entry('pending one'));
    await new KyselyUnitOfWork(db).run((repos) => repos.audit.append(entry('pending two')));
    expect((await audit.chainState()).head).toEqual(before.head);
    const pending = await audit.pendingRows(new Date(0));
    expect(pending).toMatchObject({ count: 2, staleId: null });
    expect(pending.oldestAt?.getTime()).toBe(t0.getTime());
    // Older than a bound that has passed: named, lowest id first.
    const stale = await audit.pendingRows(new Date(t0.getTime() + 1));
    const ids = await db
      .selectFrom('audit_log')
      .select('id')
      .where(sql<boolean>`seq is null`)
      .orderBy('id')
      .execute();
    expect(stale.staleId).toBe(String(ids[0]?.id));
    expect(await chainAuditRows(db)).toBe(2);
    const rows = await allRows(db);
    expect(rows.slice(-2).map((r) => [r.seq, r.content.reason])).toEqual([
      [before.head.seq + 1, 'pending one'],
      [before.head.seq + 2, 'pending two'],
    ]);
    expect(await audit.pendingRows(new Date(t0.getTime() + 1))).toEqual({
      count: 0,
      oldestAt: null,
      staleId: null,
    });
    expect(await chainAuditRows(db)).toBe(0);
    expect((await verify(db)).ok).toBe(true);
  });

  it('chains rows written at once and at the end of a transaction, whatever their text, and they verify', async () => {
    const db = database.db;
    const audit = new KyselyAuditRepository(db);
    await audit.append(entry('plain'));
    // Lone surrogates and NUL are stored as U+FFFD; bidi controls, emoji and odd numbers as they are.
    await audit.append(
      entry('evil\u202egnp.exe\u2066 😀 \ud800 \u0000', {
        actor: 'system:legacy\u0000',
        userId: 'not-a-uuid\udc00',
        details: { z: 1e21, a: [0.1, -0, 'x\u0000\ud83d'], 'k\ud800': { nested: null }, when: t0 },
      }),
    );
    await new KyselyUnitOfWork(db).run(async (repos) => {
      await repos.audit.append(entry('in a unit of work, first'));
      await repos.audit.append(
        entry('in a unit of work, second', { occurredAt: new Date(t0.getTime() + 1) }),
      );
    });
    const verdict = await verify(db);
    expect(verdict).toMatchObject({ ok: true, rows: 6, firstSeq: 1, lastSeq: 6 });
    const rows = (await allRows(db)).slice(2);
    expect(rows.map((r) => r.content.reason)).toEqual([
      'plain',
      'evil\u202egnp.exe\u2066 😀 \ufffd \ufffd',
      'in a unit of work, first',
      'in a unit of work, second',
    ]);
    expect(rows[1]?.content.occurredAt).toBe('2030-01-01T00:00:00.123000Z');
  });

  it('leaves no gap when a transaction that audited rolls back', async () => {
    const db = database.db;
    const before = await new KyselyAuditRepository(db).chainState();
    await expect(
      new KyselyUnitOfWork(db).run(async (repos) => {
        await repos.audit.append(entry('never committed'));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await new KyselyAuditRepository(db).append(entry('after the rollback'));
    expect(await chainAuditRows(db)).toBe(1);
    const after = await new KyselyAuditRepository(db).chainState();
    expect(after.head.seq).toBe(before.head.seq + 1);
    expect((await verify(db)).ok).toBe(true);
  });

  it('keeps one chain when many transactions audit at once', async () => {
    const db = database.db;
    const before = await new KyselyAuditRepository(db).chainState();
    const uow = new KyselyUnitOfWork(db);
    // Chainers run while the writers commit: a row committed after a higher id was chained comes next.
    await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => uow.run((repos) => repos.audit.append(entry(`parallel ${i}`)))),
      chainAuditRows(db),
      chainAuditRows(db),
    ]);
    const verdict = await verify(db);
    expect(verdict).toMatchObject({ ok: true, lastSeq: before.head.seq + 30 });
    const seqs = (await allRows(db)).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });

  it('sees a change of a microsecond in a stored time', async () => {
    const db = database.db;
    await new KyselyAuditRepository(db).append(entry('timed'));
    await chainAuditRows(db);
    const { head } = await new KyselyAuditRepository(db).chainState();
    await sql`update audit_log set occurred_at = occurred_at + interval '1 microsecond' where seq = ${head.seq}`.execute(
      db,
    );
    expect((await verify(db)).break).toMatchObject({ kind: 'edited', seq: head.seq });
    await sql`update audit_log set occurred_at = occurred_at - interval '1 microsecond' where seq = ${head.seq}`.execute(
      db,
    );
    expect((await verify(db)).ok).toBe(true);
  });
});

describeEachDatabase('the upgrade that introduces the audit chain', (suite) => {
  it('chains the rows already there in the order they were written, and marks the upgrade', async () => {
    const database = await suite.create();
    try {
      const db = database.db;
      await auditChainAtCommitMigration.down?.(db as Kysely<unknown>);
      await auditChainMigration.down?.(db as Kysely<unknown>);
      // Ids out of time order, microseconds a JS date cannot hold, and text the console escapes.
      for (const [at, reason] of [
        ['2029-01-01T00:00:02.000001Z', 'second'],
        ['2029-01-01T00:00:01.5Z', 'first'],
        ['2029-01-01T00:00:03Z', 'third\u202e'],
      ] as const) {
        await sql`insert into audit_log (occurred_at, actor, action, user_id, reason, details)
          values (${at}::timestamptz, 'system', 'user.disabled', null, ${reason}, ${JSON.stringify({ at, b: [1, { c: 2 }] })}::jsonb)`.execute(
          db,
        );
      }
      await auditChainMigration.up(db as Kysely<unknown>);
      await auditChainAtCommitMigration.up(db as Kysely<unknown>);
      const audit = new KyselyAuditRepository(db);
      const state = await audit.chainState();
      expect(state).toMatchObject({ head: { seq: 3 }, upgradeSeq: 3 });
      const rows = await allRows(db);
      expect(rows.map((r) => [r.seq, r.content.reason, r.content.occurredAt])).toEqual([
        [1, 'first', '2029-01-01T00:00:01.500000Z'],
        [2, 'second', '2029-01-01T00:00:02.000001Z'],
        [3, 'third\u202e', '2029-01-01T00:00:03.000000Z'],
      ]);
      await audit.append(entry('after the upgrade'));
      expect(await verify(db)).toMatchObject({ ok: true, rows: 4, lastSeq: 4 });
    } finally {
      await database.close();
    }
  });
});
