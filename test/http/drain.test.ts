import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenwarden, type DatabaseHandle, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { installDrain } from '../../src/http/drain.js';
import { testDatabases } from '../support/databases.js';
import { ManualClock } from '../support/manual-clock.js';
import { TEST_ENV } from '../support/test-app.js';

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly connection: string | undefined;
  readonly body: unknown;
}

/** One GET over `agent`, so requests share one kept-alive connection as a load balancer's probes do. */
const get = (agent: Agent, base: string, path: string) =>
  new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          connection: res.headers.connection,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });

const [pglite] = testDatabases();

describe('the drain of a graceful stop', () => {
  let tw: Tokenwarden | undefined;
  let database: DatabaseHandle | undefined;
  afterEach(async () => {
    await tw?.close();
    await database?.close();
  });

  /** A server on PGlite with the drain installed, listening on a free port. */
  async function listenWithDrain() {
    if (pglite === undefined) throw new Error('no test database');
    database = await pglite.create();
    tw = await createTokenwarden(loadConfig(TEST_ENV), {
      clock: new ManualClock(),
      database,
      logger: false,
      defaultMetrics: false,
    });
    const drain = installDrain(tw.app);
    await tw.app.listen({ host: '127.0.0.1', port: 0 });
    return { drain, base: `http://127.0.0.1:${(tw.app.server.address() as AddressInfo).port}` };
  }

  it('turns /ready to 503 (status draining) on a kept-alive connection while requests still finish', async () => {
    const { drain, base } = await listenWithDrain();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await get(agent, base, '/ready');
      expect(before).toMatchObject({ status: 200, body: { status: 'ready', database: 'up' } });

      const drained = drain(5_000);
      const during = await get(agent, base, '/ready');
      expect(during.status).toBe(503);
      expect(during.contentType).toMatch(/^application\/json/);
      expect(during.body).toMatchObject({ status: 'draining', database: 'up' });
      // The probe's client is told to move off the connection too.
      expect(during.connection).toBe('close');
      await drained;
    } finally {
      agent.destroy();
    }
  }, 60_000);

  it('with an announcement, keeps listening with /ready at 503 for new connections, then refuses them', async () => {
    const { drain, base } = await listenWithDrain();
    const began = Date.now();
    const drained = drain(5_000, 1_500);
    // A fresh connection, as a load balancer's next probe may open: still accepted, told 503.
    const fresh = new Agent({ keepAlive: false });
    try {
      const during = await get(fresh, base, '/ready');
      expect(during.status).toBe(503);
      expect(during.body).toMatchObject({ status: 'draining' });
      await drained;
      expect(Date.now() - began).toBeGreaterThanOrEqual(1_400);
      // The announcement is over: the listener is closed.
      await expect(get(fresh, base, '/ready')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      fresh.destroy();
    }
  }, 60_000);
});
