import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/composition-root.js';
import {
  batchStatement,
  cutoffsAt,
  type PruneCounts,
  RETENTION_RULES,
} from '../../src/infrastructure/database/retention-rules.js';
import { Pruner } from '../../src/infrastructure/retention/pruner.js';
import { testDatabases } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Short lifetimes, so a test moves its ManualClock through several of them: refresh
 * tokens live 2 h, sessions 3 h, a revoked session and a delivered event are kept 1 h.
 */
const ENV = {
  TOKENWARDEN_PRUNE_INTERVAL_SECONDS: '0',
  TOKENWARDEN_REFRESH_TOKEN_TTL_SECONDS: '7200',
  TOKENWARDEN_SESSION_MAX_AGE_SECONDS: '10800',
  TOKENWARDEN_RETENTION_REVOKED_SESSIONS: '1h',
  TOKENWARDEN_RETENTION_DELIVERED_EVENTS: '1h',
};
const HOUR = 3600;

// The machine is shared: starting an app and a few dozen requests can take seconds.
const SLOW = 60_000;

const total = (counts: PruneCounts) => Object.values(counts).reduce((a, b) => a + b, 0);

describe.each(testDatabases())('retention (the pruner) on $name', (target) => {
  const open: { app: TestApp; database: DatabaseHandle }[] = [];
  afterEach(async () => {
    for (const { app, database } of open.splice(0)) {
      await app.close();
      await database.close();
    }
  });
  /** A fresh app over a fresh database: counts in a test are that test's own. */
  const fresh = async (env: Record<string, string> = {}) => {
    const database = await target.create();
    const app = await startTestApp(database, { ...ENV, ...env });
    open.push({ app, database });
    return app;
  };
  let n = 0;
  const userPair = async (t: TestApp) => {
    const email = `prune${++n}@example.com`;
    const user = await t.register(email);
    return { user, pair: await t.login(email) };
  };
  /**
   * `users` logins, each refreshed `refreshes` times, then the clock past every token's
   * and session's life: returns what a pass would delete (a dry run).
   */
  const seedExpired = async (t: TestApp, { users, refreshes = 0 }: { users: number; refreshes?: number }) => {
    for (let i = 0; i < users; i += 1) {
      const { pair } = await userPair(t);
      let token = pair.refreshToken;
      for (let j = 0; j < refreshes; j += 1) token = (await t.refresh(token)).json().refreshToken;
    }
    t.clock.advance(4 * HOUR);
    return t.tw.pruner.runOnce({ dryRun: true });
  };
  /** Pruners beside the app's, over its database and clock, with the test's policy and no loop. */
  const morePruners = (t: TestApp, { count, batchSize }: { count: number; batchSize: number }) =>
    Array.from(
      { length: count },
      () =>
        new Pruner(
          { db: t.tw.db, clock: t.clock },
          {
            intervalSeconds: 0,
            batchSize,
            reuseIntervalSeconds: 10,
            accessTokenTtlSeconds: 900,
            revokedSessionsSeconds: HOUR,
            deliveredEventsSeconds: HOUR,
            unpublishedEventsSeconds: null,
            auditSeconds: null,
          },
        ),
    );
  const tokenRows = async (t: TestApp, sessionId: string) =>
    Number(
      (
        await t.tw.db
          .selectFrom('refresh_tokens')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('session_id', '=', sessionId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const sessionExists = async (t: TestApp, sessionId: string) =>
    (await t.tw.db.selectFrom('sessions').select('id').where('id', '=', sessionId).executeTakeFirst()) !==
    undefined;

  it(
    'keeps a used refresh token until its own expiry: replaying it after a prune is still reuse',
    async () => {
      const t = await fresh();
      const { pair } = await userPair(t);
      const next = (await t.refresh(pair.refreshToken)).json();
      // Long past the reuse interval, well inside the token's lifetime.
      t.clock.advance(HOUR);
      const report = await t.tw.pruner.runOnce();
      expect(report.leader).toBe(true);
      expect(report.counts.refresh_tokens).toBe(0);
      expect(await tokenRows(t, pair.sessionId)).toBe(2);

      const replay = await t.refresh(pair.refreshToken);
      expect(replay.statusCode).toBe(401);
      expect(replay.json().code).toBe('token_reused');
      // Reuse revoked the session, so its live successor is refused too.
      expect((await t.refresh(next.refreshToken)).json().code).toBe('token_revoked');
    },
    SLOW,
  );

  it(
    'never touches a live token, and deletes tokens once expired (plus the reuse interval)',
    async () => {
      const t = await fresh();
      const old = await userPair(t);
      t.clock.advance(HOUR);
      const live = await userPair(t);
      // old's token expires at 2 h; live's at 3 h.
      t.clock.advance(HOUR + 5);
      await t.tw.pruner.runOnce();
      // Expired 5 s ago: inside the reuse interval a retry of its parent could still need it.
      expect(await tokenRows(t, old.pair.sessionId)).toBe(1);
      t.clock.advance(10);
      const report = await t.tw.pruner.runOnce();
      expect(report.counts.refresh_tokens).toBe(1);
      expect(await tokenRows(t, old.pair.sessionId)).toBe(0);
      expect(await tokenRows(t, live.pair.sessionId)).toBe(1);
      // The live one still refreshes after the prune.
      expect((await t.refresh(live.pair.refreshToken)).statusCode).toBe(200);
      // The deleted one is unknown now: refused like any token that never existed.
      expect((await t.refresh(old.pair.refreshToken)).json().code).toBe('token_invalid');
    },
    SLOW,
  );

  it(
    'keeps a revoked session through its window, then deletes it with its tokens; expired sessions go',
    async () => {
      const t = await fresh();
      const revoked = await userPair(t);
      const kept = await userPair(t);
      (await t.refresh(revoked.pair.refreshToken)).json();
      const logout = await t.request('DELETE', '/api/v1/sessions/current', {
        token: revoked.pair.accessToken,
      });
      expect(logout.statusCode).toBe(204);

      t.clock.advance(HOUR / 2);
      await t.tw.pruner.runOnce();
      expect(await sessionExists(t, revoked.pair.sessionId)).toBe(true);
      expect(await tokenRows(t, revoked.pair.sessionId)).toBe(2);
      // Inside the window the session's tokens are still refused as revoked, not unknown.
      expect((await t.refresh(revoked.pair.refreshToken)).json().code).toBe('token_revoked');

      t.clock.advance(HOUR / 2 + 1);
      const report = await t.tw.pruner.runOnce();
      expect(report.counts).toMatchObject({ sessions: 1, refresh_tokens: 2 });
      expect(await sessionExists(t, revoked.pair.sessionId)).toBe(false);
      expect(await tokenRows(t, revoked.pair.sessionId)).toBe(0);
      expect(await sessionExists(t, kept.pair.sessionId)).toBe(true);

      // Past the absolute age (3 h): the session and its (expired) tokens go, revoked or not.
      const refreshed = (await t.refresh(kept.pair.refreshToken)).json();
      expect(refreshed.refreshToken).toBeTypeOf('string');
      t.clock.advance(2 * HOUR + 11);
      const late = await t.tw.pruner.runOnce();
      expect(late.counts.sessions).toBeGreaterThanOrEqual(1);
      expect(await sessionExists(t, kept.pair.sessionId)).toBe(false);
      expect(await tokenRows(t, kept.pair.sessionId)).toBe(0);
    },
    SLOW,
  );

  it(
    'deletes events once every delivery is done and older than the window; pending ones and unpublished ones stay',
    async () => {
      const t = await fresh();
      const db = t.tw.db;
      // Logins write outbox events; stand in for the relay's fan-out and outcomes.
      await userPair(t);
      await userPair(t);
      await userPair(t);
      const events = await db.selectFrom('outbox').select('id').orderBy('occurred_at').execute();
      expect(events.length).toBeGreaterThanOrEqual(4);
      const [delivered, mixed, pending, unpublished] = events.map((e) => e.id) as [
        string,
        string,
        string,
        string,
      ];
      const now = t.clock.now();
      await db.updateTable('outbox').set({ published_at: now }).where('id', '<>', unpublished).execute();
      const delivery = (eventId: string, url: string, state: 'pending' | 'delivered' | 'dead') =>
        db
          .insertInto('webhook_deliveries')
          .values({
            id: randomUUID(),
            event_id: eventId,
            url,
            state,
            next_attempt_at: now,
            created_at: now,
            delivered_at: state === 'delivered' ? now : null,
            dead_at: state === 'dead' ? now : null,
          })
          .execute();
      await delivery(delivered, 'https://a.example/hook', 'delivered');
      await delivery(mixed, 'https://a.example/hook', 'delivered');
      await delivery(mixed, 'https://b.example/hook', 'dead');
      await delivery(pending, 'https://a.example/hook', 'delivered');
      await delivery(pending, 'https://b.example/hook', 'pending');

      t.clock.advance(HOUR / 2);
      expect((await t.tw.pruner.runOnce()).counts).toMatchObject({ outbox: 0, webhook_deliveries: 0 });

      t.clock.advance(HOUR / 2 + 1);
      const report = await t.tw.pruner.runOnce();
      expect(report.counts.webhook_deliveries).toBe(4);
      const left = await db.selectFrom('outbox').select('id').execute();
      const ids = new Set(left.map((e) => e.id));
      expect(ids.has(delivered)).toBe(false);
      expect(ids.has(mixed)).toBe(false);
      // One receiver still owed it: the event and that delivery stay.
      expect(ids.has(pending)).toBe(true);
      // Waiting for a webhook URL: kept for ever by default.
      expect(ids.has(unpublished)).toBe(true);
      const deliveries = await db.selectFrom('webhook_deliveries').select(['event_id', 'state']).execute();
      expect(deliveries).toEqual([{ event_id: pending, state: 'pending' }]);
    },
    SLOW,
  );

  it(
    'keeps the audit log for ever by default, and prunes it past TOKENWARDEN_RETENTION_AUDIT when set',
    async () => {
      const countAudit = async (t: TestApp) =>
        Number(
          (
            await t.tw.db
              .selectFrom('audit_log')
              .select((eb) => eb.fn.countAll<string>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const forever = await fresh();
      await userPair(forever);
      const before = await countAudit(forever);
      forever.clock.advance(1000 * 24 * HOUR);
      expect((await forever.tw.pruner.runOnce()).counts.audit_log).toBe(0);
      expect(await countAudit(forever)).toBe(before);

      const bounded = await fresh({ TOKENWARDEN_RETENTION_AUDIT: '30d' });
      await userPair(bounded);
      const old = await countAudit(bounded);
      bounded.clock.advance(29 * 24 * HOUR);
      // Only whole checkpointed segments go: the checkpoint signed now ends the old rows' segment.
      expect((await bounded.tw.core.auditCheckpointer.runOnce()).signed?.seq).toBe(old);
      await userPair(bounded);
      const all = await countAudit(bounded);
      bounded.clock.advance(24 * HOUR + 1);
      expect((await bounded.tw.pruner.runOnce()).counts.audit_log).toBe(old);
      expect(await countAudit(bounded)).toBe(all - old);
    },
    SLOW,
  );

  it(
    'prunes the revocation log past one access-token TTL without changing any feed answer',
    async () => {
      const t = await fresh();
      const a = await userPair(t);
      const rotate = (token: string) =>
        t.request('POST', '/api/v1/users/me/rotations', { token, body: { reason: 'test' } });
      expect((await rotate(a.pair.accessToken)).statusCode).toBe(201);
      // 900 s TTL + 60 s skew later, the first change is outside the window.
      t.clock.advance(961);
      const b = await userPair(t);
      expect((await rotate(b.pair.accessToken)).statusCode).toBe(201);
      const admin = await t.adminToken();
      const feed = async (after: number) =>
        (await t.request('GET', `/api/v1/revocations?after=${after}`, { token: admin })).json();
      const before = [await feed(0), await feed(1), await feed(2)];

      const dry = await t.tw.pruner.runOnce({ dryRun: true });
      const report = await t.tw.pruner.runOnce();
      expect(report.counts.revocation_log).toBeGreaterThanOrEqual(1);
      expect(report.counts.revocation_log).toBe(dry.counts.revocation_log);
      // A verifier at seq 0, at a seq whose row is gone, or further on: the same answers.
      expect([await feed(0), await feed(1), await feed(2)]).toEqual(before);
      // The counter row stays: the next change continues the sequence.
      const lastSeq = before[0].lastSeq as number;
      // b's rotation killed b's access token: log in again first.
      expect((await rotate((await t.login(b.user.email)).accessToken)).statusCode).toBe(201);
      const after = await feed(lastSeq);
      expect(after.changes.map((c: { seq: number }) => c.seq)).toEqual([lastSeq + 1]);
    },
    SLOW,
  );

  it(
    'a dry run deletes nothing and counts what the pass then deletes',
    async () => {
      const t = await fresh({
        TOKENWARDEN_RETENTION_AUDIT: '1h',
        TOKENWARDEN_RETENTION_UNPUBLISHED_EVENTS: '1h',
      });
      for (let i = 0; i < 3; i += 1) {
        const { pair } = await userPair(t);
        await t.refresh(pair.refreshToken);
        await t.request('DELETE', '/api/v1/sessions/current', { token: pair.accessToken });
      }
      t.clock.advance(4 * HOUR);
      const dry = await t.tw.pruner.runOnce({ dryRun: true });
      expect(dry.dryRun).toBe(true);
      expect(total(dry.counts)).toBeGreaterThan(0);
      const again = await t.tw.pruner.runOnce({ dryRun: true });
      expect(again.counts).toEqual(dry.counts);
      const real = await t.tw.pruner.runOnce();
      expect(real.counts).toEqual(dry.counts);
      expect(total((await t.tw.pruner.runOnce({ dryRun: true })).counts)).toBe(0);
    },
    SLOW,
  );

  it(
    'two pruners at once delete every row exactly once, in small batches, without errors',
    async () => {
      const t = await fresh();
      const expected = await seedExpired(t, { users: 6, refreshes: 4 });
      expect(expected.counts.refresh_tokens).toBeGreaterThanOrEqual(30);
      const pruners = morePruners(t, { count: 3, batchSize: 3 });
      // Without the leader lock (as `tokenwarden prune` beside a server): rows are claimed with SKIP LOCKED.
      const free = await Promise.all(pruners.map((p) => p.runOnce({ exclusive: false })));
      const deleted = (table: keyof PruneCounts) => free.reduce((sum, r) => sum + r.counts[table], 0);
      expect(deleted('refresh_tokens')).toBe(expected.counts.refresh_tokens);
      // A session is deleted once its tokens are; one that lost that race goes in the next pass.
      const rest = await Promise.all(pruners.map((p) => p.runOnce({ exclusive: false })));
      expect(deleted('sessions') + rest.reduce((s, r) => s + r.counts.sessions, 0)).toBe(
        expected.counts.sessions,
      );
      expect(total((await t.tw.pruner.runOnce({ dryRun: true })).counts)).toBe(0);
    },
    SLOW,
  );

  it(
    'with the leader lock, one instance prunes at a time',
    async () => {
      const t = await fresh();
      const expected = total((await seedExpired(t, { users: 4 })).counts);
      const pruners = morePruners(t, { count: 2, batchSize: 1 });
      // Hold the lock's slot busy: the first pass deletes row by row while the second asks.
      const reports = await Promise.all(pruners.map((p) => p.runOnce()));
      expect(reports.filter((r) => r.leader)).toHaveLength(1);
      expect(reports.reduce((sum, r) => sum + total(r.counts), 0)).toBe(expected);
      // Once the leader is done the lock is free again for anyone.
      expect((await pruners[1]!.runOnce()).leader).toBe(true);
    },
    SLOW,
  );

  it(
    'reports rows deleted per table, the last run and its duration on /metrics',
    async () => {
      const t = await fresh();
      await seedExpired(t, { users: 1 });
      await t.tw.pruner.runOnce();
      const metrics = await t.request('GET', '/metrics');
      expect(metrics.body).toMatch(/tokenwarden_pruned_rows_total\{table="refresh_tokens"\} 1/);
      expect(metrics.body).toMatch(/tokenwarden_pruned_rows_total\{table="sessions"\} 1/);
      const at = /^tokenwarden_prune_last_run_timestamp_seconds (\S+)$/m.exec(metrics.body)?.[1];
      expect(Number(at)).toBe(t.clock.now().getTime() / 1000);
      expect(metrics.body).toMatch(/^tokenwarden_prune_last_run_duration_seconds \d/m);
    },
    SLOW,
  );

  it(
    'every delete finds its rows through an index, never by scanning the table',
    async () => {
      const t = await fresh({
        TOKENWARDEN_RETENTION_AUDIT: '1h',
        TOKENWARDEN_RETENTION_UNPUBLISHED_EVENTS: '1h',
      });
      // Every window on, so every batch has a statement to explain.
      const cutoffs = cutoffsAt(t.clock.now(), {
        reuseIntervalSeconds: 10,
        accessTokenTtlSeconds: 900,
        revokedSessionsSeconds: HOUR,
        deliveredEventsSeconds: HOUR,
        unpublishedEventsSeconds: HOUR,
        auditSeconds: HOUR,
      });
      // The planner scans small tables whatever the indexes; forbid it, so a missing index shows.
      const plans: string[] = [];
      await t.tw.db.connection().execute(async (conn) => {
        await sql`set enable_seqscan = off`.execute(conn);
        for (const rule of RETENTION_RULES) {
          for (const batch of rule.batches) {
            const statement = batchStatement(rule, batch, cutoffs, 10);
            if (statement === null) throw new Error(`a batch of ${rule.table} is off`);
            const { rows } = await sql`explain ${statement}`.execute(conn);
            plans.push((rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('\n'));
          }
        }
        await sql`reset enable_seqscan`.execute(conn);
      });
      // The audit log goes by whole segments (audit-segment-prune.ts), through its seq index: no batches.
      expect(plans).toHaveLength(8);
      for (const plan of plans) expect(plan).not.toMatch(/Seq Scan/);
    },
    SLOW,
  );
});
