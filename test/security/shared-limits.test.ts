import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/composition-root.js';
import { testDatabases } from '../support/databases.js';
import { freePort } from '../support/instances.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startTestApp, type TestApp, USER_PASSWORD } from '../support/test-app.js';

const REDIS_URL = process.env.REDIS_URL ?? '';
const [pglite] = testDatabases();

const loginFrom = (app: TestApp, ip: string, email: string, password: string) =>
  app.tw.app.inject({
    method: 'POST',
    url: '/api/v1/sessions',
    remoteAddress: ip,
    payload: { email, password },
  });

/*
 * Two instances on one database and one Redis: a limit spent on A is spent on B.
 * The channel (and so the key prefix) and the emails are fresh per run, so runs sharing
 * the Redis never meet.
 */
describe.skipIf(REDIS_URL === '')('rate limits and the account lock shared through Redis', () => {
  const run = randomBytes(4).toString('hex');
  let database: DatabaseHandle | undefined;
  let a: TestApp | undefined;
  let b: TestApp | undefined;

  beforeAll(async () => {
    database = await pglite!.create();
    const env = {
      REDIS_URL,
      // What is tested here is the sharing: both instances and PGlite share one event loop in
      // this process, so an answer can wait behind a query longer than the default bound.
      TOKENWARDEN_REDIS_COMMAND_TIMEOUT_MS: '2000',
      TOKENWARDEN_INVALIDATION_CHANNEL: `tw_test_limits_${run}`,
      TOKENWARDEN_RATE_LIMIT_MAX: '6',
      TOKENWARDEN_LOGIN_ACCOUNT_MAX_FAILURES: '3',
    };
    a = await startTestApp(database, env);
    b = await startTestApp(database, env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.close();
  });

  it('failures on A lock the account for that source on B', async () => {
    const email = `victim-${run}@example.com`;
    await b!.tw.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      remoteAddress: '10.77.0.99',
      payload: { email, password: USER_PASSWORD },
    });
    for (let i = 0; i < 3; i++)
      expect((await loginFrom(a!, '10.77.0.1', email, `guess ${i}`)).statusCode).toBe(401);
    const onB = await loginFrom(b!, '10.77.0.1', email, USER_PASSWORD);
    expect(onB.statusCode).toBe(429);
    expect(Number(onB.headers['retry-after'])).toBeGreaterThan(0);
    // The owner elsewhere still gets in, on either instance.
    expect((await loginFrom(b!, '10.77.0.2', email, USER_PASSWORD)).statusCode).toBe(201);
  });

  it('one per-address budget across instances', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const app = i % 2 === 0 ? a! : b!;
      statuses.push((await loginFrom(app, '10.78.0.1', `nobody${i}-${run}@example.com`, 'x')).statusCode);
    }
    expect(statuses).toEqual([...Array(6).fill(401), 429]);
  });
});

/**
 * A TCP proxy to Redis that holds each connection's traffic back for `delayMs` first: a Redis
 * slow to answer at start (a loaded machine, a far network). Without waiting for the first
 * connection, an instance behind it counted its first logins in memory only.
 */
async function slowRedisProxy(
  target: URL,
  delayMs: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.pause();
    setTimeout(() => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    }, delayMs);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(REDIS_URL === '')('an instance whose Redis is slow to answer at start', () => {
  const run = randomBytes(4).toString('hex');
  let database: DatabaseHandle | undefined;
  let proxy: Awaited<ReturnType<typeof slowRedisProxy>> | undefined;
  let a: TestApp | undefined;
  let b: TestApp | undefined;

  beforeAll(async () => {
    database = await pglite!.create();
    proxy = await slowRedisProxy(new URL(REDIS_URL), 800);
    const env = {
      TOKENWARDEN_REDIS_COMMAND_TIMEOUT_MS: '2000',
      TOKENWARDEN_INVALIDATION_CHANNEL: `tw_test_slow_${run}`,
      TOKENWARDEN_RATE_LIMIT_MAX: '6',
      TOKENWARDEN_LOGIN_ACCOUNT_MAX_FAILURES: '3',
    };
    a = await startTestApp(database, { ...env, REDIS_URL });
    b = await startTestApp(database, { ...env, REDIS_URL: proxy.url });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await proxy?.close();
    await database?.close();
  });

  it('starts serving only once connected, so a lock earned on another instance holds on its first login', async () => {
    const email = `slow-${run}@example.com`;
    await a!.tw.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      remoteAddress: '10.80.0.99',
      payload: { email, password: USER_PASSWORD },
    });
    for (let i = 0; i < 3; i++)
      expect((await loginFrom(a!, '10.80.0.1', email, `guess ${i}`)).statusCode).toBe(401);
    expect((await loginFrom(b!, '10.80.0.1', email, USER_PASSWORD)).statusCode).toBe(429);
  });
});

describe('with Redis unreachable', () => {
  let database: DatabaseHandle | undefined;
  let app: TestApp | undefined;

  beforeAll(async () => {
    database = await pglite!.create();
    // Nothing listens there.
    const port = await freePort();
    app = await startTestApp(database, {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      TOKENWARDEN_RATE_LIMIT_MAX: '5',
      TOKENWARDEN_LOGIN_ACCOUNT_MAX_FAILURES: '2',
    });
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('logins never 500: the limits and the lock hold per instance', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await loginFrom(app!, '10.79.0.1', 'down@example.com', `guess ${i}`)).statusCode);
    expect(statuses).toEqual([401, 401, 429, 429]);
    const budget: number[] = [];
    for (let i = 0; i < 6; i++)
      budget.push((await loginFrom(app!, '10.79.0.2', `n${i}@example.com`, 'x')).statusCode);
    expect(budget).toEqual([...Array(5).fill(401), 429]);
  });
});

describe.skipIf(REDIS_URL === '')('an instance whose Redis hangs (accepts, never answers)', () => {
  const run = randomBytes(4).toString('hex');
  let database: DatabaseHandle | undefined;
  let proxy: TcpProxy | undefined;
  let app: TestApp | undefined;

  beforeAll(async () => {
    database = await pglite!.create();
    proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379), new URL(REDIS_URL).hostname);
    app = await startTestApp(database, {
      REDIS_URL: proxy.rewrite(REDIS_URL),
      TOKENWARDEN_INVALIDATION_CHANNEL: `tw_test_hung_${run}`,
      TOKENWARDEN_RATE_LIMIT_MAX: '1000',
      TOKENWARDEN_LOGIN_ACCOUNT_MAX_FAILURES: '1000',
    });
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await database?.close();
  });

  it('costs one login at most the command timeout, the next ones nothing, and /ready names Redis', async () => {
    const email = `hung-${run}@example.com`;
    await app!.register(email);
    const timed = async () => {
      const started = performance.now();
      const res = await loginFrom(app!, '10.81.0.1', email, USER_PASSWORD);
      return { status: res.statusCode, ms: performance.now() - started };
    };
    const before = await timed();
    expect(before.status).toBe(201);
    proxy!.freeze();
    const during = [];
    for (let i = 0; i < 6; i++) during.push(await timed());
    const ready = await app!.request('GET', '/ready');
    proxy!.thaw();
    console.log(
      `hung Redis: login ${before.ms.toFixed(0)} ms before; during: ${during.map((d) => d.ms.toFixed(0)).join(', ')} ms`,
    );
    expect(during.every((d) => d.status === 201)).toBe(true);
    // Each Redis command waits at most the 100 ms default; once one has timed out the
    // circuit skips Redis, so the logins after it pay nothing for it (before: +2 s each).
    expect(Math.max(...during.map((d) => d.ms - before.ms))).toBeLessThan(600);
    expect(during.slice(2).every((d) => d.ms - before.ms < 100)).toBe(true);
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ redis: 'down', failing: expect.arrayContaining(['redis']) });
  });
});
