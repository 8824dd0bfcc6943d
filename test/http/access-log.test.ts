import { describe, expect, it } from 'vitest';
import { createTokenwarden, loggerOptions } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { testDatabases } from '../support/databases.js';
import { captureLogs } from '../support/log-capture.js';
import { ManualClock } from '../support/manual-clock.js';
import { TEST_ENV } from '../support/test-app.js';

const [pglite] = testDatabases();

async function requestsLoggedAt(level: string): Promise<Record<string, unknown>[]> {
  const { lines, sink } = captureLogs();
  const database = await pglite!.create();
  const tw = await createTokenwarden(loadConfig({ ...TEST_ENV, LOG_LEVEL: level }), {
    clock: new ManualClock(),
    database,
    logger: { ...(loggerOptions(level) as object), stream: sink },
    logStream: sink,
    defaultMetrics: false,
  });
  try {
    expect(
      (await tw.app.inject({ method: 'GET', url: '/health', remoteAddress: '10.1.2.3' })).statusCode,
    ).toBe(200);
    expect(
      (await tw.app.inject({ method: 'GET', url: '/api/v1/users/me', remoteAddress: '10.1.2.3' })).statusCode,
    ).toBe(401);
    // A gateway's check, refused (routine), then one from a misconfigured gateway (no such role).
    expect((await tw.app.inject({ method: 'GET', url: '/api/v1/forward-auth/orders' })).statusCode).toBe(401);
    expect((await tw.app.inject({ method: 'GET', url: '/api/v1/forward-auth?role=root' })).statusCode).toBe(
      422,
    );
    // Ready on PGlite: a passing probe.
    expect((await tw.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
  } finally {
    await tw.close();
    await database.close();
  }
  return lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => typeof entry.reqId === 'string');
}

describe('the access log', () => {
  it('writes one line per request at info: method, url, address, status, time and request id', async () => {
    const entries = await requestsLoggedAt('info');
    // The probes are not among them (/health and /ready are logged at debug), nor a gateway's
    // refused check; its misconfigured one is.
    expect(entries.map((e) => (e.req as { url: string }).url)).toEqual([
      '/api/v1/users/me',
      '/api/v1/forward-auth?role=root',
    ]);
    const me = entries[0]!;
    expect(me.msg).toBe('request completed');
    expect(me.req).toMatchObject({ method: 'GET', url: '/api/v1/users/me', remoteAddress: '10.1.2.3' });
    expect(me.res).toEqual({ statusCode: 401 });
    expect(typeof me.responseTime).toBe('number');
    // An ISO-8601 time in UTC, not epoch milliseconds.
    expect(me.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('logs the /health and /ready probes and the forward-auth checks at debug, with the rest', async () => {
    const entries = await requestsLoggedAt('debug');
    const urls = entries
      .filter((e) => e.msg === 'request completed')
      .map((e) => (e.req as { url: string }).url);
    expect(urls).toEqual([
      '/health',
      '/api/v1/users/me',
      '/api/v1/forward-auth/orders',
      '/api/v1/forward-auth?role=root',
      '/ready',
    ]);
    const check = entries.find((e) => (e.req as { url: string }).url === '/api/v1/forward-auth/orders')!;
    expect(check.level).toBe(20);
    const probe = entries.find((e) => (e.req as { url: string }).url === '/health')!;
    expect(probe.level).toBe(20);
    expect(probe.reqId).not.toBe(entries.find((e) => (e.req as { url: string }).url === '/ready')!.reqId);
  });

  it('logs a failing /ready at warn', async () => {
    const { lines, sink } = captureLogs();
    const database = await pglite!.create();
    const tw = await createTokenwarden(loadConfig({ ...TEST_ENV, LOG_LEVEL: 'info' }), {
      clock: new ManualClock(),
      database,
      logger: { ...(loggerOptions('info') as object), stream: sink },
      logStream: sink,
      defaultMetrics: false,
    });
    try {
      // The database goes away: the write probe fails.
      await database.close();
      expect((await tw.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    } finally {
      await tw.close().catch(() => {});
    }
    const failed = lines
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === 'probe failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 40, res: { statusCode: 503 } });
  });

  it('writes none above info', async () => {
    expect(await requestsLoggedAt('warn')).toEqual([]);
  });
});
