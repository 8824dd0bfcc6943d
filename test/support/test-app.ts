import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import type { TokenPair } from '../../src/application/token-pair.js';
import { createTokenwarden, type DatabaseHandle, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import type { TestDatabaseTarget } from './databases.js';
import { ManualClock } from './manual-clock.js';

export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'admin-password-1';

/** Cheap argon2 and generous rate limits: tests set these, production never does. */
export const TEST_ENV: Record<string, string> = {
  TOKENWARDEN_ARGON2_MEMORY_KIB: '64',
  TOKENWARDEN_ARGON2_ITERATIONS: '1',
  TOKENWARDEN_RATE_LIMIT_MAX: '100000',
  TOKENWARDEN_RATE_LIMIT_REFRESH_MAX: '100000',
  TOKENWARDEN_LOGIN_ACCOUNT_MAX_FAILURES: '100000',
  TOKENWARDEN_ADMIN_EMAIL: ADMIN_EMAIL,
  TOKENWARDEN_ADMIN_PASSWORD: ADMIN_PASSWORD,
  LOG_LEVEL: 'silent',
};

export interface TestApp {
  readonly tw: Tokenwarden;
  readonly clock: ManualClock;
  request(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    options?: { body?: unknown; token?: string; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
  register(email: string, password?: string): Promise<{ id: string; email: string }>;
  login(email: string, password?: string): Promise<TokenPair>;
  refresh(refreshToken: string): Promise<LightMyRequestResponse>;
  adminToken(): Promise<string>;
  close(): Promise<void>;
}

export const USER_PASSWORD = 'correct horse battery';

/** Builds the real app over a test database, with a manual clock; talks to it through `inject`. */
export async function startTestApp(
  database: DatabaseHandle,
  env: Record<string, string> = {},
  clock = new ManualClock(),
): Promise<TestApp> {
  const config = loadConfig({ ...TEST_ENV, ...env });
  const tw = await createTokenwarden(config, { clock, database, logger: false, defaultMetrics: false });
  await tw.app.ready();
  // Audit checkpoints are signed when a test asks (`tw.core.auditCheckpointer.runOnce()`): a pass on
  // the server's timer would add an outbox event to tests that count them, whenever it happened to run.
  await tw.core.auditCheckpointer.close();

  const request: TestApp['request'] = (method, url, options = {}) =>
    tw.app.inject({
      method,
      url,
      headers: {
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { payload: options.body as object }),
    });

  const expectStatus = (res: LightMyRequestResponse, status: number, what: string) => {
    if (res.statusCode !== status)
      throw new Error(`${what}: expected ${status}, got ${res.statusCode} ${res.body}`);
  };

  const app: TestApp = {
    tw,
    clock,
    request,
    async register(email, password = USER_PASSWORD) {
      const res = await request('POST', '/api/v1/users', { body: { email, password } });
      expectStatus(res, 201, `register ${email}`);
      return res.json();
    },
    async login(email, password = USER_PASSWORD) {
      const res = await request('POST', '/api/v1/sessions', { body: { email, password } });
      expectStatus(res, 201, `login ${email}`);
      return res.json();
    },
    refresh(refreshToken) {
      return request('POST', '/api/v1/tokens', { body: { refreshToken } });
    },
    async adminToken() {
      return (await app.login(ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken;
    },
    close: () => tw.close(),
  };
  return app;
}

/**
 * One app over a fresh database for a whole `describe` block: created before its
 * tests, closed (app and database) after. The returned object forwards to it.
 */
export function useTestApp(target: TestDatabaseTarget, env: Record<string, string> = {}): TestApp {
  let current: TestApp | undefined;
  let database: DatabaseHandle | undefined;
  beforeAll(async () => {
    database = await target.create();
    current = await startTestApp(database, env);
  });
  afterAll(async () => {
    await current?.close();
    await database?.close();
  });
  return new Proxy({} as TestApp, {
    get(_target, key) {
      if (current === undefined) throw new Error('useTestApp: the app exists only inside tests');
      return Reflect.get(current, key);
    },
  });
}
