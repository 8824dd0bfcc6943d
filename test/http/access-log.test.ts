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
    expect((await tw.app.inject({ method: 'GET', url: '/api/v1/users/me' })).statusCode).toBe(401);
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
    expect(entries.map((e) => e.msg)).toEqual(['request completed', 'request completed']);
    const [health, me] = entries as [Record<string, unknown>, Record<string, unknown>];
    expect(health.req).toMatchObject({ method: 'GET', url: '/health', remoteAddress: '10.1.2.3' });
    expect(health.res).toEqual({ statusCode: 200 });
    expect(typeof health.responseTime).toBe('number');
    expect(me.res).toEqual({ statusCode: 401 });
    expect(health.reqId).not.toBe(me.reqId);
  });

  it('writes none above info', async () => {
    expect(await requestsLoggedAt('warn')).toEqual([]);
  });
});
