import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { samePostgresSchema, type TestDatabase, testDatabases } from '../../../test/support/databases.js';
import { ManualClock } from '../../../test/support/manual-clock.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../test/support/webhook-receiver.js';
import { KyselyOutboxRepository } from '../database/repositories/kysely-outbox-repository.js';
import type { Database } from '../database/schema.js';
import { WebhookRelay, type WebhookRelayOptions } from './webhook-relay.js';
import { deriveWebhookSecret, verifyWebhookSignature } from './webhook-signature.js';

const SECRET = 'test-webhook-secret-0123456789';

describe.each(testDatabases())('webhook relay on $name', (target) => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup.length = 0;
  });

  async function database(): Promise<TestDatabase> {
    const db = await target.create();
    cleanup.push(() => db.close());
    return db;
  }

  async function receiver(
    options: Parameters<typeof startWebhookReceiver>[0] = {},
  ): Promise<WebhookReceiver> {
    const r = await startWebhookReceiver(options);
    cleanup.push(() => r.close());
    return r;
  }

  function relay(
    db: Kysely<Database>,
    clock: ManualClock,
    urls: string[],
    options: Partial<WebhookRelayOptions> = {},
  ): WebhookRelay {
    const r = new WebhookRelay(
      { db, clock, newId: randomUUID, random: () => 0.5 },
      {
        urls,
        secret: SECRET,
        maxAttempts: 5,
        timeoutMs: 2_000,
        backoffBaseMs: 1_000,
        backoffMaxMs: 60_000,
        pollIntervalMs: 10,
        ...options,
      },
    );
    cleanup.push(() => r.close());
    return r;
  }

  async function appendEvents(db: Kysely<Database>, clock: ManualClock, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = randomUUID();
      await new KyselyOutboxRepository(db).append({
        id,
        type: i % 2 === 0 ? 'GlobalTokenRotationSucceeded' : 'RefreshTokenReuseDetected',
        occurredAt: clock.now(),
        payload: { n: i, reason: 'database leak' },
      });
      ids.push(id);
    }
    return ids;
  }

  /** Passes of the relay, moving the clock past every backoff in between. */
  async function drive(r: WebhookRelay, clock: ManualClock, passes: number): Promise<void> {
    for (let i = 0; i < passes; i++) {
      await r.runOnce();
      clock.advance(120);
    }
  }

  it('retries a receiver that fails the first attempts, then delivers once, signed, with attempts recorded', async () => {
    const { db } = await database();
    const clock = new ManualClock();
    const hook = await receiver({ failFirst: 2 });
    const [eventId] = await appendEvents(db, clock, 1);
    const r = relay(db, clock, [hook.url]);

    const first = await r.runOnce();
    expect(first).toMatchObject({ leader: true, fannedOut: 1, failed: 1 });
    // Not due again until the backoff has passed: no hammering a failing receiver.
    expect((await r.runOnce()).failed).toBe(0);
    await drive(r, clock, 5);

    expect(hook.received).toHaveLength(3);
    expect(hook.accepted()).toHaveLength(1);
    const [delivered] = hook.accepted();
    expect(delivered).toMatchObject({
      id: eventId,
      type: 'GlobalTokenRotationSucceeded',
      occurredAt: '2026-01-01T00:00:00.000Z',
      payload: { n: 0, reason: 'database leak' },
    });
    for (const request of hook.received) {
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-tokenwarden-event-id']).toBe(eventId);
      expect(request.headers['idempotency-key']).toBe(eventId);
      const signature = request.headers['x-tokenwarden-signature'] as string;
      expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(
        verifyWebhookSignature(deriveWebhookSecret(SECRET, hook.url), signature, request.body, {
          now: clock.now(),
          toleranceSeconds: 3600,
        }),
      ).toMatchObject({ valid: true });
      expect(verifyWebhookSignature('another-secret-of-some-length', signature, request.body).valid).toBe(
        false,
      );
    }
    expect(hook.received.map((h) => h.headers['x-tokenwarden-delivery-attempt'])).toEqual(['1', '2', '3']);

    const row = await db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('event_id', '=', eventId!)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      state: 'delivered',
      attempts: 3,
      last_status: 204,
      last_error: null,
      url: hook.url,
    });
    expect(row.delivered_at).not.toBeNull();
    const outbox = await db
      .selectFrom('outbox')
      .select('published_at')
      .where('id', '=', eventId!)
      .executeTakeFirstOrThrow();
    expect(outbox.published_at).not.toBeNull();
  });

  it('dead-letters a delivery after the maximum attempts, with an audit row', async () => {
    const { db } = await database();
    const clock = new ManualClock();
    const hook = await receiver({ failFirst: 1_000, failStatus: 500 });
    const [eventId] = await appendEvents(db, clock, 1);
    const r = relay(db, clock, [hook.url], { maxAttempts: 3 });
    await drive(r, clock, 6);

    expect(hook.received).toHaveLength(3);
    const row = await db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('event_id', '=', eventId!)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'dead', attempts: 3, last_status: 500, last_error: 'HTTP 500' });
    const audit = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'webhook.dead_lettered')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'system',
      details: { deliveryId: row.id, eventId, attempts: 3, lastStatus: 500 },
    });
  });

  it('fans each event out to every URL, and one failing receiver does not hold back another', async () => {
    const { db } = await database();
    const clock = new ManualClock();
    const good = await receiver();
    const bad = await receiver({ failFirst: 1_000 });
    const ids = await appendEvents(db, clock, 3);
    const r = relay(db, clock, [good.url, bad.url], { maxAttempts: 2 });
    await drive(r, clock, 3);
    expect(good.acceptedIds()).toEqual([...ids].sort());
    expect(bad.received).toHaveLength(6);
    const states = await db.selectFrom('webhook_deliveries').select(['url', 'state']).execute();
    expect(states.filter((s) => s.url === good.url).every((s) => s.state === 'delivered')).toBe(true);
    expect(states.filter((s) => s.url === bad.url).every((s) => s.state === 'dead')).toBe(true);
  });

  it('signs each URL with its own secret: what receiver A got does not verify at B', async () => {
    const { db } = await database();
    const clock = new ManualClock();
    const a = await receiver();
    const b = await receiver();
    const [eventId] = await appendEvents(db, clock, 1);
    await drive(relay(db, clock, [a.url, `${b.url}?tenant=b`]), clock, 1);
    const secretA = deriveWebhookSecret(SECRET, a.url);
    const secretB = deriveWebhookSecret(SECRET, `${b.url}?tenant=b`);
    const [toA] = a.received;
    const [toB] = b.received;
    expect(JSON.parse(toA!.body).id).toBe(eventId);
    const check = (secret: string, request: typeof toA) =>
      verifyWebhookSignature(secret, request!.headers['x-tokenwarden-signature'] as string, request!.body, {
        now: clock.now(),
        toleranceSeconds: 3600,
      });
    expect(check(secretA, toA)).toMatchObject({ valid: true });
    expect(check(secretB, toB)).toMatchObject({ valid: true });
    // A replays its delivery to B, inside the tolerance: B refuses it.
    expect(check(secretB, toA)).toEqual({ valid: false, reason: 'mismatch' });
    expect(check(secretA, toB)).toEqual({ valid: false, reason: 'mismatch' });
    expect(check(SECRET, toA).valid).toBe(false);
  });

  it('a connection refused or a timeout counts as a failed attempt', async () => {
    const { db } = await database();
    const clock = new ManualClock();
    const hook = await receiver();
    const closedUrl = hook.url;
    await hook.close();
    await appendEvents(db, clock, 1);
    const r = relay(db, clock, [closedUrl], { timeoutMs: 200 });
    expect(await r.runOnce()).toMatchObject({ failed: 1 });
    const row = await db.selectFrom('webhook_deliveries').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'pending', attempts: 1, last_status: null });
    expect(row.last_error).toMatch(/fetch failed|ECONNREFUSED/);
    // Due after the backoff: 1 s base, "equal jitter" at 0.5 → 750 ms.
    expect(row.next_attempt_at.getTime() - clock.now().getTime()).toBe(750);
  });

  it('a new relay over the same database continues the pending deliveries (restart)', async () => {
    const { db } = await database();
    const clock = new ManualClock();
    const hook = await receiver({ failFirst: 2 });
    const ids = await appendEvents(db, clock, 2);
    const before = relay(db, clock, [hook.url]);
    await before.runOnce();
    await before.close();
    expect(hook.accepted()).toHaveLength(0);

    clock.advance(120);
    const after = relay(db, clock, [hook.url]);
    await drive(after, clock, 2);
    expect(hook.acceptedIds()).toEqual([...ids].sort());
    const rows = await db.selectFrom('webhook_deliveries').select(['state', 'attempts']).execute();
    expect(rows).toEqual([
      { state: 'delivered', attempts: 2 },
      { state: 'delivered', attempts: 2 },
    ]);
  });

  it('the background loop delivers on its own and stops on close', async () => {
    const { db } = await database();
    const clock = new ManualClock();
    const hook = await receiver();
    const ids = await appendEvents(db, clock, 3);
    const r = relay(db, clock, [hook.url], { pollIntervalMs: 5 });
    r.start();
    await expect.poll(() => hook.accepted().length, { timeout: 5_000, interval: 10 }).toBe(3);
    await r.close();
    await appendEvents(db, clock, 1);
    // Ten poll intervals in which a relay still running would have delivered: a negative check.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hook.acceptedIds()).toEqual([...ids].sort());
    expect((await r.runOnce()).leader).toBe(false);
  });

  /** A receiver that answers 200 after `delayMs`, and says when a request has arrived. */
  async function slowReceiver(delayMs: number) {
    const { createServer } = await import('node:http');
    let arrived: () => void = () => {};
    const first = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const server = createServer((req, res) => {
      arrived();
      req.resume();
      const timer = setTimeout(() => res.writeHead(200).end(), delayMs);
      res.on('close', () => clearTimeout(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const { port } = server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}/hook`, first };
  }

  it('close lets the attempt under way finish and records it (the receiver is not sent it again)', async () => {
    const { db } = await database();
    const clock = new ManualClock();
    const hook = await slowReceiver(300);
    await appendEvents(db, clock, 1);
    const r = relay(db, clock, [hook.url]);
    const pass = r.runOnce();
    await hook.first;
    await r.close();
    expect((await pass).delivered).toBe(1);
    const rows = await db.selectFrom('webhook_deliveries').select(['state', 'attempts']).execute();
    expect(rows).toEqual([{ state: 'delivered', attempts: 1 }]);
  });

  it('close abandons an attempt still under way after its grace: it stays due, not counted', async () => {
    const { db } = await database();
    const clock = new ManualClock();
    const hook = await slowReceiver(10_000);
    await appendEvents(db, clock, 1);
    const r = relay(db, clock, [hook.url], { timeoutMs: 20_000 });
    const pass = r.runOnce();
    await hook.first;
    await r.close(100);
    expect((await pass).delivered).toBe(0);
    const rows = await db.selectFrom('webhook_deliveries').select(['state', 'attempts']).execute();
    expect(rows).toEqual([{ state: 'pending', attempts: 0 }]);
  });

  it('backs off exponentially with jitter, up to the cap', () => {
    const clock = new ManualClock();
    const at = (random: number) =>
      new WebhookRelay(
        { db: undefined as unknown as Kysely<Database>, clock, newId: randomUUID, random: () => random },
        {
          urls: [],
          secret: SECRET,
          maxAttempts: 10,
          timeoutMs: 1,
          backoffBaseMs: 1_000,
          backoffMaxMs: 10_000,
          pollIntervalMs: 1,
        },
      );
    expect([1, 2, 3, 4, 5, 6].map((n) => at(1).backoffMs(n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ]);
    expect([1, 2, 3].map((n) => at(0).backoffMs(n))).toEqual([500, 1_000, 2_000]);
  });

  it('two relays over the same database deliver each event once', async () => {
    const primary = await database();
    const second = await secondHandle(primary);
    const clock = new ManualClock();
    const hook = await receiver({ failFirst: 1 });
    const a = relay(primary.db, clock, [hook.url]);
    const b = relay(second, clock, [hook.url]);

    const ids = await appendEvents(primary.db, clock, 5);
    for (let round = 0; round < 3; round++) {
      const passes = await Promise.all([a.runOnce(), b.runOnce()]);
      expect(passes.filter((p) => p.leader)).toHaveLength(1);
      ids.push(...(await appendEvents(primary.db, clock, 2)));
      clock.advance(120);
    }
    // The leader goes away: the other takes over and finishes.
    const leader = (await a.runOnce()).leader ? a : b;
    const other = leader === a ? b : a;
    await leader.close();
    clock.advance(120);
    await drive(other, clock, 2);

    const accepted = hook.accepted().map((e) => e.id);
    expect(new Set(accepted).size).toBe(accepted.length);
    expect(accepted.sort()).toEqual([...ids].sort());
    const deliveries = await primary.db.selectFrom('webhook_deliveries').select('event_id').execute();
    expect(deliveries).toHaveLength(ids.length);
  });

  it.runIf(target.name === 'postgres')(
    "when the leader's connection dies, the advisory lock is freed and another relay takes over",
    async () => {
      const primary = await database();
      const second = await secondHandle(primary);
      const clock = new ManualClock();
      const hook = await receiver();
      const a = relay(primary.db, clock, [hook.url]);
      const b = relay(second, clock, [hook.url]);
      expect((await a.runOnce()).leader).toBe(true);
      expect((await b.runOnce()).leader).toBe(false);

      // As if a's instance crashed: the server ends its session, and with it the lock.
      await sql`select pg_terminate_backend(pid) from pg_locks
                where locktype = 'advisory' and classid::bigint = ${0x7477_6831} and granted`.execute(second);
      const ids = await appendEvents(primary.db, clock, 2);
      await expect.poll(async () => (await b.runOnce()).leader, { timeout: 5_000, interval: 20 }).toBe(true);
      await b.runOnce();
      expect(hook.acceptedIds()).toEqual([...ids].sort());
    },
  );

  /** Another instance: on PostgreSQL its own pool over the same schema, on PGlite the same handle. */
  async function secondHandle(primary: TestDatabase): Promise<Kysely<Database>> {
    if (primary.name === 'pglite') return primary.db;
    const handle = await samePostgresSchema(primary.db, 3);
    cleanup.unshift(() => handle.close());
    return handle.db;
  }
});
