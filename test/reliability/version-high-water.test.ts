import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createTokenwarden, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import type { Database } from '../../src/infrastructure/database/schema.js';
import { RedisHighWaterStore } from '../../src/infrastructure/high-water/redis-high-water-store.js';
import { VersionMarks } from '../../src/infrastructure/high-water/version-marks.js';
import { copyPGliteTemplateDirectory, type TestDatabase, testDatabases } from '../support/databases.js';
import { ManualClock } from '../support/manual-clock.js';
import { startTestApp, TEST_ENV, type TestApp, USER_PASSWORD } from '../support/test-app.js';

const REDIS_URL = process.env.REDIS_URL ?? '';

const globalVersion = async (db: Kysely<Database>) =>
  (await db.selectFrom('security_config').select('global_min_token_version').executeTakeFirstOrThrow())
    .global_min_token_version;
const regressionRaises = async (db: Kysely<Database>) =>
  (
    await db
      .selectFrom('audit_log')
      .select('id')
      .where('actor', '=', 'system:regression')
      .where('action', '=', 'token_rotation.global')
      .execute()
  ).length;

describe('the high-water store', () => {
  it('a store that does not answer delays a check by the reconcile timeout at most, and memory still counts', async () => {
    const hanging = {
      load: () => new Promise<number | null>(() => {}),
      save: () => new Promise<void>(() => {}),
      close: async () => {},
    };
    const marks = new VersionMarks({ maxUsers: 10, store: hanging, reconcileTimeoutMs: 50 });
    marks.observeGlobal(7);
    const started = performance.now();
    await marks.reconcile(3);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(marks.global()).toBe(7);
    // Once per database version: the next check does not wait again.
    const again = performance.now();
    await marks.reconcile(3);
    expect(performance.now() - again).toBeLessThan(20);
  });

  it('remembers users past version 1 only, and at most maxUsers of them', () => {
    const marks = new VersionMarks({ maxUsers: 2 });
    marks.observeUser('a', 1);
    expect(marks.user('a')).toBe(0);
    marks.observeUser('a', 3);
    marks.observeUser('a', 2);
    expect(marks.user('a')).toBe(3);
    marks.observeUser('b', 2);
    marks.observeUser('c', 2);
    expect(marks.user('a')).toBe(0);
    expect(marks.user('c')).toBe(2);
  });

  describe.skipIf(REDIS_URL === '')('in Redis', () => {
    it('keeps the highest of concurrent writes (an atomic max), and a down Redis fails at once', async () => {
      const key = `tw_test:${randomBytes(4).toString('hex')}:high-water:global`;
      const store = new RedisHighWaterStore(REDIS_URL, key);
      try {
        // Connected (commands fail at once before: no offline queue).
        await expect
          .poll(
            () =>
              store.load().then(
                () => true,
                () => false,
              ),
            { timeout: 10_000 },
          )
          .toBe(true);
        await Promise.all([5, 9, 7, 3].map((v) => store.save(v)));
        expect(await store.load()).toBe(9);
      } finally {
        await store.close();
      }
      const down = new RedisHighWaterStore('redis://127.0.0.1:1', key);
      const started = performance.now();
      await expect(down.load()).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(1_000);
      await down.close();
    });
  });
});

/*
 * An instance that starts after a restore remembers nothing in memory: what it knows of
 * the versions in force comes from Redis (several instances) or from the file beside
 * PGlite's data directory (one process). Without them it would accept the killed token,
 * whose stamp equals the restored version.
 */
describe.each(testDatabases().filter(() => REDIS_URL !== ''))(
  'a restarted instance learns the highest version from Redis on $name',
  (target) => {
    let database: TestDatabase | undefined;
    const apps: TestApp[] = [];
    afterAll(async () => {
      for (const app of apps) await app.close();
      await database?.close();
    });

    it('refuses a token killed before the restore, raises once, and logins work', async () => {
      database = await target.create();
      const env = {
        REDIS_URL,
        TOKENWARDEN_INVALIDATION_CHANNEL: `tw_hw_${randomBytes(4).toString('hex')}`,
      };
      const clock = new ManualClock();
      const start = async () => {
        const app = await startTestApp(database as TestDatabase, env, clock);
        apps.push(app);
        return app;
      };
      const a = await start();
      const db = (database as TestDatabase).db;
      const email = `hw-${randomBytes(4).toString('hex')}@example.com`;
      await a.register(email);
      const killed = await a.login(email);
      const before = await globalVersion(db);
      const rotation = await a.request('POST', '/api/v1/admin/security/rotations', {
        token: await a.adminToken(),
        body: { reason: 'breach', gracePeriodSeconds: 0 },
      });
      expect(rotation.statusCode).toBe(201);
      await a.close();
      apps.length = 0;
      await db.updateTable('security_config').set({ global_min_token_version: before }).execute();

      const restarted = await start();
      const res = await restarted.request('GET', '/api/v1/users/me', { token: killed.accessToken });
      expect(res.statusCode).toBe(401);
      expect((await restarted.refresh(killed.refreshToken)).statusCode).toBe(401);
      expect(await globalVersion(db)).toBeGreaterThan(before + 1);
      expect(await regressionRaises(db)).toBe(1);
      const fresh = await restarted.login(email);
      expect(
        (await restarted.request('GET', '/api/v1/users/me', { token: fresh.accessToken })).statusCode,
      ).toBe(200);
    });
  },
);

describe('a PGlite data directory restored from a copy', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('is raised past the version in the file beside it: the killed tokens stay dead', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tw-hw-'));
    dirs.push(dir);
    const dataDir = join(dir, 'data');
    await copyPGliteTemplateDirectory(dataDir);
    const clock = new ManualClock();
    const open = () =>
      createTokenwarden(loadConfig({ ...TEST_ENV, TOKENWARDEN_DATA_DIR: dataDir }), {
        clock,
        logger: false,
        defaultMetrics: false,
      });
    const inject = (tw: Tokenwarden, method: 'GET' | 'POST', url: string, body?: object, token?: string) =>
      tw.app.inject({
        method,
        url,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { payload: body }),
      });
    const login = async (tw: Tokenwarden, email: string, password = USER_PASSWORD) =>
      (await inject(tw, 'POST', '/api/v1/sessions', { email, password })).json() as {
        accessToken: string;
        refreshToken: string;
      };

    const first = await open();
    await inject(first, 'POST', '/api/v1/users', { email: 'restore@example.com', password: USER_PASSWORD });
    const killed = await login(first, 'restore@example.com');
    const before = await globalVersion(first.db);
    await first.close();
    await cp(dataDir, join(dir, 'backup'), { recursive: true });

    const second = await open();
    const admin = await login(
      second,
      TEST_ENV.TOKENWARDEN_ADMIN_EMAIL as string,
      TEST_ENV.TOKENWARDEN_ADMIN_PASSWORD,
    );
    const rotation = await inject(
      second,
      'POST',
      '/api/v1/admin/security/rotations',
      { reason: 'breach', gracePeriodSeconds: 0 },
      admin.accessToken,
    );
    expect(rotation.statusCode).toBe(201);
    await second.close();
    expect((await readFile(`${dataDir}.high-water`, 'utf8')).trim()).toBe(String(before + 1));

    await rm(dataDir, { recursive: true, force: true });
    await cp(join(dir, 'backup'), dataDir, { recursive: true });
    const restored = await open();
    try {
      expect(
        (await inject(restored, 'GET', '/api/v1/users/me', undefined, killed.accessToken)).statusCode,
      ).toBe(401);
      expect(
        (await inject(restored, 'POST', '/api/v1/tokens', { refreshToken: killed.refreshToken })).statusCode,
      ).toBe(401);
      expect(await globalVersion(restored.db)).toBeGreaterThan(before + 1);
      expect(await regressionRaises(restored.db)).toBe(1);
      const fresh = await login(restored, 'restore@example.com');
      expect(
        (await inject(restored, 'GET', '/api/v1/users/me', undefined, fresh.accessToken)).statusCode,
      ).toBe(200);
    } finally {
      await restored.close();
    }
  });
});
