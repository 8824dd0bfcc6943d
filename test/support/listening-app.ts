import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { createTokenwarden, type DatabaseHandle, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import type { TestDatabaseTarget } from './databases.js';
import { ManualClock } from './manual-clock.js';
import { TEST_ENV } from './test-app.js';

/** The real app listening on 127.0.0.1 (an OS-chosen port), counting the requests it receives. */
export interface ListeningApp {
  readonly tw: Tokenwarden;
  readonly clock: ManualClock;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** How many requests arrived for `method path` (path without query) since the start or the last `resetCounts`. */
  count(method: string, path: string): number;
  resetCounts(): void;
  close(): Promise<void>;
}

/** Like `startTestApp`, but over a real socket: for clients that must speak HTTP (the SDK, a browser). */
export async function startListeningApp(
  database: DatabaseHandle,
  env: Record<string, string> = {},
  clock = new ManualClock(),
): Promise<ListeningApp> {
  const config = loadConfig({ ...TEST_ENV, ...env });
  const tw = await createTokenwarden(config, { clock, database, logger: false, defaultMetrics: false });
  const counts = new Map<string, number>();
  tw.app.addHook('onRequest', async (request) => {
    const key = `${request.method} ${request.url.split('?')[0]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  // An env PORT is listened on (a test whose public URL must name the port); else any free one.
  await tw.app.listen({ host: '127.0.0.1', port: env.PORT === undefined ? 0 : Number(env.PORT) });
  const { port } = tw.app.server.address() as AddressInfo;
  return {
    tw,
    clock,
    base: `http://127.0.0.1:${port}`,
    count: (method, path) => counts.get(`${method} ${path}`) ?? 0,
    resetCounts: () => counts.clear(),
    close: () => tw.close(),
  };
}

/** One listening app over a fresh database for a whole `describe` block. */
export function useListeningApp(target: TestDatabaseTarget, env: Record<string, string> = {}): ListeningApp {
  let current: ListeningApp | undefined;
  let database: DatabaseHandle | undefined;
  beforeAll(async () => {
    database = await target.create();
    current = await startListeningApp(database, env);
  });
  afterAll(async () => {
    await current?.close();
    await database?.close();
  });
  return new Proxy({} as ListeningApp, {
    get(_target, key) {
      if (current === undefined) throw new Error('useListeningApp: the app exists only inside tests');
      return Reflect.get(current, key);
    },
  });
}
