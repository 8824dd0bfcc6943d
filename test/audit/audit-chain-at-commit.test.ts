import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenwarden, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { AUDIT_PENDING_BOUND_SECONDS, type ChainRow, verifyChain } from '../../src/domain/audit-chain.js';
import type { AuditEntry } from '../../src/domain/audit-entry.js';
import { AuditChainer } from '../../src/infrastructure/audit/audit-chainer.js';
import { KyselyAuditRepository } from '../../src/infrastructure/database/repositories/kysely-audit-repository.js';
import { KyselyUnitOfWork } from '../../src/infrastructure/database/repositories/kysely-unit-of-work.js';
import type { Database } from '../../src/infrastructure/database/schema.js';
import { chainAuditRows } from '../support/audit-chain.js';
import {
  describeEachDatabase,
  samePostgresSchema,
  type TestDatabase,
  testDatabases,
} from '../support/databases.js';
import { ManualClock } from '../support/manual-clock.js';
import { TEST_ENV, USER_PASSWORD } from '../support/test-app.js';

function entry(reason: string, occurredAt = new Date()): AuditEntry {
  return { occurredAt, actor: 'system', action: 'user.disabled', userId: null, reason, details: {} };
}

async function pendingCount(db: Kysely<Database>): Promise<number> {
  return (await new KyselyAuditRepository(db).pendingRows(new Date(0))).count;
}

/** The whole chain, checked against its head: ok, and seq 1..n with no gap. */
async function checkChain(db: Kysely<Database>): Promise<{ ok: boolean; seqs: number[] }> {
  const audit = new KyselyAuditRepository(db);
  const rows: ChainRow[] = [...(await audit.chainRows(null, 100_000))];
  const { head } = await audit.chainState();
  return { ok: verifyChain(rows, { head }).ok, seqs: rows.map((r) => r.seq) };
}

describeEachDatabase('chaining audit rows after the commit', (suite) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await suite.create();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('a unit of work tells the chainer after its commit; a burst of writers ends as one gap-free chain', async () => {
    const db = database.db;
    const chainer = new AuditChainer({ db });
    const uow = new KyselyUnitOfWork(db, { afterAuditCommit: () => chainer.notify() });
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => uow.run((repos) => repos.audit.append(entry(`burst ${i}`)))),
    );
    // Told, not awaited: the rows get chained shortly after (no sweep is running here).
    await expect.poll(() => pendingCount(db), { timeout: 5000, interval: 20 }).toBe(0);
    const { ok, seqs } = await checkChain(db);
    expect(ok).toBe(true);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(seqs.length).toBeGreaterThanOrEqual(40);
    await chainer.close();
  });

  it('coalesces a burst of notifications: one run in flight and one queued, not one run each', async () => {
    let headLocks = 0;
    const counted = database.db.withPlugin({
      transformQuery(args) {
        if (JSON.stringify(args.node).includes('for update')) headLocks++;
        return args.node;
      },
      async transformResult(args) {
        return args.result;
      },
    });
    const audit = new KyselyAuditRepository(database.db);
    for (let i = 0; i < 20; i++) await audit.append(entry(`coalesced ${i}`));
    const chainer = new AuditChainer({ db: counted });
    for (let i = 0; i < 20; i++) chainer.notify();
    await chainer.chainNow();
    expect(await pendingCount(database.db)).toBe(0);
    // The first run chains all 20; the queued one finds nothing (no lock taken then).
    expect(headLocks).toBe(1);
    await chainer.close();
  });

  it('a rolled-back writer leaves no row and no gap; nothing is told', async () => {
    const db = database.db;
    let told = 0;
    const uow = new KyselyUnitOfWork(db, { afterAuditCommit: () => told++ });
    const before = await checkChain(db);
    await expect(
      uow.run(async (repos) => {
        await repos.audit.append(entry('never committed'));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(told).toBe(0);
    expect(await pendingCount(db)).toBe(0);
    await uow.run((repos) => repos.audit.append(entry('after the rollback')));
    expect(told).toBe(1);
    await chainAuditRows(db);
    const after = await checkChain(db);
    expect(after.ok).toBe(true);
    expect(after.seqs.length).toBe(before.seqs.length + 1);
  });

  it('the sweep chains a row no trigger announced (a crash between commit and chaining)', async () => {
    const db = database.db;
    // Inserted as a writer would, and never announced.
    await new KyselyAuditRepository(db).append(entry('left by a crash'));
    expect(await pendingCount(db)).toBe(1);
    const chainer = new AuditChainer({ db }, { sweepSeconds: 0.05 });
    chainer.start();
    try {
      await expect.poll(() => pendingCount(db), { timeout: 5000, interval: 20 }).toBe(0);
    } finally {
      await chainer.close();
    }
    expect((await checkChain(db)).ok).toBe(true);
  });

  it('a row with a lower id that commits after a higher one was chained is chained next, after it', async () => {
    const db = database.db;
    const audit = new KyselyAuditRepository(db);
    await audit.append(entry('low id'));
    await audit.append(entry('high id'));
    const [low] = await db
      .selectFrom('audit_log')
      .select('id')
      .where(sql<boolean>`seq is null`)
      .orderBy('id')
      .execute();
    // As if the lower id had not committed yet when the chainer ran: hidden, then back.
    await sql`update audit_log set seq = -1 where id = ${low?.id}`.execute(db);
    await chainAuditRows(db);
    await sql`update audit_log set seq = null where id = ${low?.id}`.execute(db);
    await chainAuditRows(db);
    const rows = await new KyselyAuditRepository(db).chainRows(null, 100_000);
    expect(rows.slice(-2).map((r) => r.content.reason)).toEqual(['high id', 'low id']);
    expect((await checkChain(db)).ok).toBe(true);
  });
});

describeEachDatabase('verification while rows are pending', (suite) => {
  let database: TestDatabase;
  let tw: Tokenwarden;
  const clock = new ManualClock(new Date());
  beforeAll(async () => {
    database = await suite.create();
    tw = await createTokenwarden(loadConfig(TEST_ENV), {
      clock,
      database,
      logger: false,
      defaultMetrics: false,
    });
    await tw.app.ready();
    await tw.core.auditChainer.chainNow();
  });
  afterAll(async () => {
    await tw?.close();
    await database?.close();
  });

  it('answers the writer before chaining; a fresh pending row is listed, not a break; past the bound it is one, named', async () => {
    const email = `u-${randomBytes(4).toString('hex')}@example.com`;
    const res = await tw.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      payload: { email, password: USER_PASSWORD },
    });
    expect(res.statusCode).toBe(201);
    await tw.core.auditChainer.chainNow();
    expect((await tw.services.auditTrail.verify()).pending.count).toBe(0);

    // A row left pending (as after a crash): listed, not a break, while younger than the bound.
    await new KyselyAuditRepository(tw.core.db).append(entry('pending', clock.now()));
    const fresh = await tw.services.auditTrail.verify();
    expect(fresh.verdict.ok).toBe(true);
    expect(fresh.pending).toMatchObject({
      count: 1,
      oldestAgeSeconds: 0,
      boundSeconds: AUDIT_PENDING_BOUND_SECONDS,
    });
    const [row] = await tw.core.db
      .selectFrom('audit_log')
      .select('id')
      .where(sql<boolean>`seq is null`)
      .execute();

    clock.advance(AUDIT_PENDING_BOUND_SECONDS + 1);
    const stale = await tw.services.auditTrail.verify();
    expect(stale.verdict.ok).toBe(false);
    expect(stale.verdict.break).toMatchObject({ kind: 'inserted', seq: null, id: String(row?.id) });
    expect(stale.verdict.break?.detail).toContain('not chained');

    await tw.core.auditChainer.chainNow();
    expect((await tw.services.auditTrail.verify()).verdict.ok).toBe(true);
  });
});

describe.runIf(process.env.DATABASE_URL)('two instances chaining one PostgreSQL database', () => {
  let database: TestDatabase;
  let second: Awaited<ReturnType<typeof samePostgresSchema>>;
  beforeAll(async () => {
    const [postgres] = testDatabases().filter((t) => t.name === 'postgres');
    if (postgres === undefined) throw new Error('DATABASE_URL is set: PostgreSQL is a target');
    database = await postgres.create();
    second = await samePostgresSchema(database.db, 4);
  });
  afterAll(async () => {
    await second?.close();
    await database?.close();
  });

  it('writers on both pools, each instance chaining after its commits: one gap-free chain', async () => {
    const chainers = [new AuditChainer({ db: database.db }), new AuditChainer({ db: second.db })];
    const uows = [database.db, second.db].map(
      (db, i) => new KyselyUnitOfWork(db, { afterAuditCommit: () => chainers[i]?.notify() }),
    );
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        uows[i % 2]?.run((repos) => repos.audit.append(entry(`instance ${i % 2}, write ${i}`))),
      ),
    );
    await Promise.all(chainers.map((c) => c.chainNow()));
    expect(await pendingCount(database.db)).toBe(0);
    const { ok, seqs } = await checkChain(database.db);
    expect(ok).toBe(true);
    expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    await Promise.all(chainers.map((c) => c.close()));
  });

  it('an HTTP write is answered while another instance holds the chain head; its row is chained once the head is free', async () => {
    const tw = await createTokenwarden(loadConfig(TEST_ENV), {
      database,
      logger: false,
      defaultMetrics: false,
    });
    try {
      await tw.app.ready();
      await tw.core.auditChainer.chainNow();
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let locked = (): void => undefined;
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const holder = second.db.transaction().execute(async (trx) => {
        await sql`select seq from audit_chain_head where id = 1 for update`.execute(trx);
        locked();
        await released;
      });
      await isLocked;
      try {
        const email = `u-${randomBytes(4).toString('hex')}@example.com`;
        const res = await tw.app.inject({
          method: 'POST',
          url: '/api/v1/users',
          payload: { email, password: USER_PASSWORD },
        });
        expect(res.statusCode).toBe(201);
        // Answered with the head still locked: the row is committed, and waits.
        expect(await pendingCount(database.db)).toBeGreaterThanOrEqual(1);
      } finally {
        release();
        await holder;
      }
      await expect.poll(() => pendingCount(database.db), { timeout: 5000, interval: 20 }).toBe(0);
      expect((await checkChain(database.db)).ok).toBe(true);
    } finally {
      await tw.close();
    }
  });

  it('a writer commits while another instance holds the chain head: its answer does not wait for the chain', async () => {
    const chainer = new AuditChainer({ db: second.db });
    const uow = new KyselyUnitOfWork(second.db, { afterAuditCommit: () => chainer.notify() });
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = (): void => undefined;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    // Another instance's chaining run, stalled with the head's lock.
    const holder = database.db.transaction().execute(async (trx) => {
      await sql`select seq from audit_chain_head where id = 1 for update`.execute(trx);
      locked();
      await released;
    });
    await isLocked;
    await uow.run((repos) => repos.audit.append(entry('written while the head is locked')));
    // Committed and answered; the chainer is waiting for the head.
    expect(await pendingCount(database.db)).toBe(1);
    release();
    await holder;
    await expect.poll(() => pendingCount(database.db), { timeout: 5000, interval: 20 }).toBe(0);
    expect((await checkChain(database.db)).ok).toBe(true);
    await chainer.close();
  });
});
