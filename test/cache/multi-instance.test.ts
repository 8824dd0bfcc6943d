import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DisableUser } from '../../src/application/commands/disable-user/command.js';
import { TriggerUserTokenRotation } from '../../src/application/commands/trigger-user-token-rotation/command.js';
import { createCore } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import {
  call,
  createScratchDatabase,
  freePort,
  type Instance,
  login,
  me,
  measurePropagation,
  msUntilRejected,
  type Rotation,
  register,
  revoke,
  type ScratchDatabase,
  startInstance,
} from '../support/instances.js';
import { TEST_ENV } from '../support/test-app.js';

const DATABASE_URL = process.env.DATABASE_URL ?? '';
const REDIS_URL = process.env.REDIS_URL ?? '';
/** The target is < 100 ms; the assertion is generous so a busy CI machine does not flake. */
const BOUND_MS = 2_000;
const FALLBACK_TTL_SECONDS = 2;

interface Pair {
  readonly transport: 'postgres' | 'redis';
  a: Instance;
  b: Instance;
}

/*
 * Two (or three) server processes on one scratch PostgreSQL database: a change made
 * on A must stop the same access token on B, through Redis pub/sub or LISTEN/NOTIFY.
 */
describe.skipIf(DATABASE_URL === '')('access tokens die on every instance', () => {
  let database: ScratchDatabase | undefined;
  const pairs: Pair[] = [];
  const started: Instance[] = [];
  let degraded: Instance | undefined;
  const channel = `tw_test_${randomBytes(4).toString('hex')}`;

  const start = async (name: string, env: Record<string, string>) => {
    const instance = await startInstance(name, {
      DATABASE_URL: database?.url ?? '',
      DATABASE_POOL_SIZE: '4',
      TOKENWARDEN_INVALIDATION_CHANNEL: channel,
      ...env,
    });
    started.push(instance);
    return instance;
  };

  beforeAll(async () => {
    database = await createScratchDatabase(DATABASE_URL);
    // The first one migrates and creates the admin; the rest start on a ready database.
    const notifyA = await start('notify-a', {});
    const closedPort = await freePort();
    const [notifyB, redisA, redisB, lost] = await Promise.all([
      start('notify-b', {}),
      REDIS_URL === '' ? undefined : start('redis-a', { REDIS_URL }),
      REDIS_URL === '' ? undefined : start('redis-b', { REDIS_URL }),
      // Nothing listens there: the subscription never comes up.
      start('lost', {
        REDIS_URL: `redis://127.0.0.1:${closedPort}`,
        TOKENWARDEN_CACHE_FALLBACK_TTL_SECONDS: String(FALLBACK_TTL_SECONDS),
      }),
    ]);
    pairs.push({ transport: 'postgres', a: notifyA, b: notifyB });
    if (redisA !== undefined && redisB !== undefined)
      pairs.push({ transport: 'redis', a: redisA, b: redisB });
    degraded = lost;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(started.map((instance) => instance.stop()));
    await database?.drop();
  }, 30_000);

  const transports = REDIS_URL === '' ? ['postgres'] : ['postgres', 'redis'];
  /** What an instance reports: NOTIFY always on PostgreSQL, Redis beside it when configured. */
  const subscribedOver = (transport: string) =>
    transport === 'redis'
      ? {
          transport: 'postgres',
          state: 'subscribed',
          transports: [
            { transport: 'postgres', state: 'subscribed' },
            { transport: 'redis', state: 'subscribed' },
          ],
        }
      : { transport: 'postgres', state: 'subscribed' };

  it.each(transports)('%s: /ready reports the transport as subscribed', async (transport) => {
    const pair = pairs.find((p) => p.transport === transport);
    for (const instance of [pair?.a, pair?.b]) {
      const ready = await call(instance?.base ?? '', 'GET', '/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({
        status: 'ready',
        database: 'up',
        ...(transport === 'redis' ? { redis: 'up' } : {}),
        invalidation: subscribedOver(transport),
        failing: [],
      });
    }
  });

  it.each(transports)(
    '%s: a global rotation, a user rotation and a logout on A reject the token on B',
    async (transport) => {
      const pair = pairs.find((p) => p.transport === transport);
      if (pair === undefined) throw new Error(`no ${transport} pair`);
      const email = `${transport}-${randomBytes(4).toString('hex')}@example.com`;
      const userId = await register(pair.a.base, email);
      const delays: Record<string, number | null> = {};
      for (const kind of ['global', 'user', 'logout'] as const satisfies readonly Rotation[]) {
        delays[kind] = (
          await measurePropagation(pair.a.base, pair.b.base, kind, email, userId, BOUND_MS)
        ).afterResponse;
      }
      console.log(
        `propagation A→B over ${transport}: ${Object.entries(delays)
          .map(([kind, ms]) => `${kind} ${ms === null ? 'timeout' : `${ms.toFixed(1)} ms`}`)
          .join(', ')}`,
      );
      for (const ms of Object.values(delays)) {
        expect(ms).not.toBeNull();
        expect(ms).toBeLessThan(BOUND_MS);
      }
    },
  );

  it.skipIf(REDIS_URL === '')(
    'a change made by a CLI without REDIS_URL reaches a server that has REDIS_URL',
    async () => {
      const server = pairs.find((p) => p.transport === 'redis')?.b;
      if (server === undefined) throw new Error('no redis instance');
      // What `tokenwarden users disable` / `rotate user` build: the core, from an environment without Redis.
      const cli = await createCore(
        loadConfig({
          ...TEST_ENV,
          LOG_LEVEL: 'silent',
          DATABASE_URL: database?.url ?? '',
          DATABASE_POOL_SIZE: '2',
          TOKENWARDEN_INVALIDATION_CHANNEL: channel,
        }),
        { defaultMetrics: false },
      );
      try {
        const changes = {
          disable: (userId: string) =>
            cli.services.disableUser.handle(
              DisableUser({ userId, actor: 'cli:test', reason: 'stolen laptop' }),
            ),
          rotate: (userId: string) =>
            cli.services.triggerUserTokenRotation.handle(
              TriggerUserTokenRotation({ userId, triggeredBy: 'cli:test', reason: 'phished' }),
            ),
        };
        const delays: Record<string, number | null> = {};
        for (const [kind, change] of Object.entries(changes)) {
          const email = `cli-${kind}-${randomBytes(4).toString('hex')}@example.com`;
          const userId = await register(server.base, email);
          const token = await login(server.base, email);
          expect(await me(server.base, token)).toBe(200); // warm: the server caches the user now
          const outcome = await change(userId);
          expect(outcome.ok).toBe(true);
          // The CLI exits right after its command: close() flushes the publish.
          delays[kind] = await msUntilRejected(server.base, token, performance.now(), BOUND_MS);
        }
        console.log(
          `CLI without Redis → server with Redis: ${Object.entries(delays)
            .map(([kind, ms]) => `${kind} ${ms === null ? 'timeout' : `${ms.toFixed(1)} ms`}`)
            .join(', ')}`,
        );
        for (const ms of Object.values(delays)) expect(ms).not.toBeNull();
      } finally {
        await cli.close();
      }
    },
  );

  it('with Redis lost, /ready answers 503 naming it, and NOTIFY still carries every change at once', async () => {
    const lost = degraded;
    const a = pairs[0]?.a;
    if (lost === undefined || a === undefined) throw new Error('instances missing');
    const ready = await call(lost.base, 'GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({
      status: 'not_ready',
      database: 'up',
      redis: 'down',
      failing: ['redis', 'invalidation'],
      invalidation: {
        transport: 'postgres',
        state: 'degraded',
        transports: [
          { transport: 'postgres', state: 'subscribed' },
          { transport: 'redis', state: 'degraded' },
        ],
      },
    });
    const metrics = await fetch(`${lost.base}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/tokenwarden_invalidation_subscribed\{transport="postgres"\} 1/);
    expect(metrics).toMatch(/tokenwarden_invalidation_subscribed\{transport="redis"\} 0/);

    const email = `degraded-${randomBytes(4).toString('hex')}@example.com`;
    const userId = await register(a.base, email);
    const token = await login(a.base, email);
    expect(await me(lost.base, token)).toBe(200);
    const rotated = await revoke(a.base, 'user', token, userId);
    const ms = await msUntilRejected(lost.base, token, rotated, BOUND_MS);
    console.log(`instance with Redis lost: rejected ${ms?.toFixed(0)} ms after the rotation (over NOTIFY)`);
    expect(ms).not.toBeNull();
  });

  it.each(transports)('%s: core.close() ends the subscriber connection', async (transport) => {
    const coreChannel = `tw_close_${randomBytes(4).toString('hex')}`;
    const core = await createCore(
      loadConfig({
        ...TEST_ENV,
        LOG_LEVEL: 'silent',
        DATABASE_URL: database?.url ?? '',
        DATABASE_POOL_SIZE: '2',
        TOKENWARDEN_INVALIDATION_CHANNEL: coreChannel,
        ...(transport === 'redis' ? { REDIS_URL } : {}),
      }),
      { defaultMetrics: false },
    );
    const subscribers = async (): Promise<number> => {
      if (transport === 'redis') {
        const redis = new Redis(REDIS_URL, { lazyConnect: true });
        try {
          await redis.connect();
          const [, count] = (await redis.pubsub('NUMSUB', coreChannel)) as [string, number];
          return Number(count);
        } finally {
          redis.disconnect();
        }
      }
      const client = new pg.Client({ connectionString: database?.url ?? '' });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: string }>(
          // Only this core's listener: the other instances listen on another channel.
          `select count(*) as n from pg_stat_activity
            where datname = current_database() and query like $1
              and (query ilike 'listen %' or query ilike 'select pg_notify(%')`,
          [`%${coreChannel}%`],
        );
        return Number(rows[0]?.n ?? 0);
      } finally {
        await client.end();
      }
    };
    try {
      await expect
        .poll(() => core.invalidation().state, { timeout: 10_000, interval: 20 })
        .toBe('subscribed');
      expect(core.invalidation()).toEqual(subscribedOver(transport));
      expect(await subscribers()).toBeGreaterThanOrEqual(1);
      if (transport === 'postgres') {
        // A lost listener comes back by itself (backoff from 100 ms) and reports subscribed again:
        // on a connection of its own (another backend pid). Judged by the pids, not by catching
        // the brief 'degraded' between (a poll on a loaded machine could miss it).
        const admin = new pg.Client({ connectionString: database?.url ?? '' });
        await admin.connect();
        const listeners = async () =>
          (
            await admin.query<{ pid: number }>(
              `select pid from pg_stat_activity where datname = current_database() and query like $1`,
              [`%${coreChannel}%`],
            )
          ).rows.map((row) => row.pid);
        try {
          const lost = await listeners();
          expect(lost.length).toBeGreaterThanOrEqual(1);
          await admin.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [lost]);
          await expect
            .poll(
              async () => {
                const now = await listeners();
                return now.length > 0 && now.every((pid) => !lost.includes(pid)) && core.invalidation().state;
              },
              { timeout: 10_000, interval: 50 },
            )
            .toBe('subscribed');
        } finally {
          await admin.end();
        }
        expect(core.invalidation().state).toBe('subscribed');
        expect(await subscribers()).toBe(1);
      }
    } finally {
      await core.close();
    }
    await expect.poll(subscribers, { timeout: 10_000, interval: 50 }).toBe(0);
  });
});
