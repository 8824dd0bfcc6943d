import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenwarden, loggerOptions, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/instances.js';
import { captureLogs } from '../support/log-capture.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { TEST_ENV, USER_PASSWORD } from '../support/test-app.js';

const DATABASE_URL = process.env.DATABASE_URL ?? '';

/**
 * A gateway's check when the database refuses: 503 with Retry-After and no body (a gateway
 * refuses the request; it never lets it through), logged at warn. Instance A makes the user;
 * B, whose cache has never seen them, checks through a proxy that then refuses.
 */
describe.skipIf(DATABASE_URL === '')('the forward-auth check with the database refusing', () => {
  let scratch: ScratchDatabase | undefined;
  let proxy: TcpProxy;
  let a: Tokenwarden;
  let b: Tokenwarden;
  const { lines, sink } = captureLogs();
  const run = randomBytes(4).toString('hex');
  const env = (url: string) =>
    loadConfig({
      ...TEST_ENV,
      DATABASE_URL: url,
      DATABASE_POOL_SIZE: '2',
      TOKENWARDEN_INVALIDATION_CHANNEL: `tw_fwd_${run}`,
      LOG_LEVEL: 'info',
    });

  beforeAll(async () => {
    scratch = await createScratchDatabase(DATABASE_URL);
    const url = new URL(scratch.url);
    proxy = await startTcpProxy(Number(url.port || 5432), url.hostname);
    a = await createTokenwarden(env(scratch.url), { logger: false, defaultMetrics: false });
    b = await createTokenwarden(env(proxy.rewrite(scratch.url)), {
      logger: { ...(loggerOptions('info') as object), stream: sink },
      logStream: sink,
      defaultMetrics: false,
    });
  }, 60_000);
  afterAll(async () => {
    proxy?.accept();
    await b?.close();
    await a?.close();
    await proxy?.close();
    await scratch?.drop();
  }, 60_000);

  it('answers 503 with Retry-After and no body, logs it at warn, and 200 once the database is back', async () => {
    const email = `fwd-refused-${run}@example.com`;
    const payload = { email, password: USER_PASSWORD };
    expect((await a.app.inject({ method: 'POST', url: '/api/v1/users', payload })).statusCode).toBe(201);
    const login = await a.app.inject({ method: 'POST', url: '/api/v1/sessions', payload });
    expect(login.statusCode).toBe(201);
    const check = () =>
      b.app.inject({
        method: 'GET',
        url: '/api/v1/forward-auth/orders',
        headers: { authorization: `Bearer ${login.json().accessToken}` },
      });

    proxy.refuse();
    const refused = await check();
    proxy.accept();
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toMatch(/^[0-9]+$/);
    expect(refused.body).toBe('');
    expect(refused.headers['x-tokenwarden-sub']).toBeUndefined();
    const failed = lines
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === 'forward-auth check failed');
    expect(failed).toEqual([expect.objectContaining({ level: 40, res: { statusCode: 503 } })]);

    const back = await check();
    expect(back.statusCode).toBe(200);
    expect(back.headers['x-tokenwarden-sub']).toBeDefined();
  }, 30_000);
});
