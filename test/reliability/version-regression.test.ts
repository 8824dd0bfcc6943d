import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchGlobalVersion } from '../../src/application/version-regression.js';
import type { Database } from '../../src/infrastructure/database/schema.js';
import { type TestDatabase, testDatabases } from '../support/databases.js';
import { ManualClock } from '../support/manual-clock.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** Past the cache's TTL (60 s by default): every instance reads the versions again. */
const PAST_CACHE_TTL_SECONDS = 61;

const configRow = (db: Kysely<Database>) =>
  db.selectFrom('security_config').selectAll().executeTakeFirstOrThrow();
const userVersion = async (db: Kysely<Database>, userId: string) =>
  (
    await db
      .selectFrom('users')
      .select('min_token_version')
      .where('id', '=', userId)
      .executeTakeFirstOrThrow()
  ).min_token_version;
const regressionAudit = (db: Kysely<Database>, action: string) =>
  db
    .selectFrom('audit_log')
    .selectAll()
    .where('actor', '=', 'system:regression')
    .where('action', '=', action)
    .execute();

/*
 * What a restore from a backup (or a failover that lost acknowledged writes) does to
 * the versions, simulated by setting them back with SQL after a rotation killed a token:
 * no instance may accept the killed tokens again, and the versions end above the
 * highest seen through one audited automatic rotation (docs/DESIGN.md §7).
 */
describe.each(testDatabases())('versions that go back on $name', (target) => {
  let database: TestDatabase | undefined;
  const clock = new ManualClock();
  const apps: TestApp[] = [];
  let a: TestApp;
  let b: TestApp;
  const db = () => (database as TestDatabase).db;

  // Every test gets fresh instances over the one database: nothing remembered from the last.
  const start = async () => {
    const app = await startTestApp(database as TestDatabase, {}, clock);
    apps.push(app);
    return app;
  };
  beforeAll(async () => {
    database = await target.create();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await database?.close();
  });

  const me = async (app: TestApp, token: string) =>
    (await app.request('GET', '/api/v1/users/me', { token })).statusCode;
  const newUser = async (app: TestApp) => {
    const email = `regress-${randomBytes(4).toString('hex')}@example.com`;
    const { id } = await app.register(email);
    return { id, email };
  };

  /**
   * Both instances meet the set-back version at once (401, or 503 while the raise is under way),
   * then refuse the killed pair for good, as a rotation of `rejection`'s kind.
   */
  const expectStillKilledOnBoth = async (
    killed: { accessToken: string; refreshToken: string },
    rejection: 'global_rotation' | 'user_rotation',
  ) => {
    const statuses = await Promise.all([
      me(a, killed.accessToken),
      me(b, killed.accessToken),
      a.refresh(killed.refreshToken).then((r) => r.statusCode),
      b.refresh(killed.refreshToken).then((r) => r.statusCode),
    ]);
    for (const status of statuses) expect([401, 503]).toContain(status);
    clock.advance(PAST_CACHE_TTL_SECONDS);
    for (const app of [a, b]) {
      expect(await me(app, killed.accessToken)).toBe(401);
      const refused = await app.refresh(killed.refreshToken);
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toMatchObject({ code: 'token_rotated', rejection });
    }
  };

  it('after a grace-0 global rotation is undone, neither instance accepts what it killed; one audited raise', async () => {
    a = await start();
    b = await start();
    const user = await newUser(a);
    const killed = await a.login(user.email);
    expect(await me(a, killed.accessToken)).toBe(200);
    expect(await me(b, killed.accessToken)).toBe(200);
    const before = await configRow(db());

    const admin = await a.adminToken();
    const rotation = await a.request('POST', '/api/v1/admin/security/rotations', {
      token: admin,
      body: { reason: 'breach', gracePeriodSeconds: 0 },
    });
    expect(rotation.statusCode).toBe(201);
    const rotated = before.global_min_token_version + 1;
    clock.advance(PAST_CACHE_TTL_SECONDS);
    for (const app of [a, b]) expect(await me(app, killed.accessToken)).toBe(401);
    expect((await b.refresh(killed.refreshToken)).statusCode).toBe(401);

    // The restore: the row as it was before the rotation.
    await db()
      .updateTable('security_config')
      .set({
        global_min_token_version: before.global_min_token_version,
        grace_until: before.grace_until,
        last_rotation_at: before.last_rotation_at,
        last_rotation_reason: before.last_rotation_reason,
      })
      .execute();
    clock.advance(PAST_CACHE_TTL_SECONDS);

    // Both instances find the regression at once.
    await expectStillKilledOnBoth(killed, 'global_rotation');

    const after = await configRow(db());
    expect(after.global_min_token_version).toBeGreaterThan(rotated);
    expect(after.grace_until?.getTime()).toBeLessThanOrEqual(clock.now().getTime());
    const audit = await regressionAudit(db(), 'token_rotation.global');
    expect(audit).toHaveLength(1);
    expect(audit[0]?.reason).toBe(
      `version regression: global version ${rotated} was in force, the database had ${before.global_min_token_version}`,
    );
    const events = await db()
      .selectFrom('outbox')
      .select('payload')
      .where('event_type', '=', 'GlobalTokenRotationSucceeded')
      .execute();
    expect(events.filter((e) => e.payload.triggeredBy === 'system:regression')).toHaveLength(1);

    // Users log in again, on either instance.
    for (const app of [a, b]) {
      const fresh = await app.login(user.email);
      expect(await me(a, fresh.accessToken)).toBe(200);
      expect(await me(b, fresh.accessToken)).toBe(200);
      expect((await app.refresh(fresh.refreshToken)).statusCode).toBe(200);
    }
  });

  it('an instance that remembers nothing takes a validly signed token above the database as evidence', async () => {
    const user = await newUser(a);
    const before = await configRow(db());
    const admin = await a.adminToken();
    const rotation = await a.request('POST', '/api/v1/admin/security/rotations', {
      token: admin,
      body: { reason: 'breach', gracePeriodSeconds: 0 },
    });
    expect(rotation.statusCode).toBe(201);
    const issuedAfter = await a.login(user.email);
    await db()
      .updateTable('security_config')
      .set({ global_min_token_version: before.global_min_token_version, grace_until: before.grace_until })
      .execute();
    // A restarted instance: no memory of the rotation (no Redis, no file on these databases).
    const restarted = await start();
    expect(await me(restarted, issuedAfter.accessToken)).toBe(401);
    expect((await configRow(db())).global_min_token_version).toBeGreaterThan(
      before.global_min_token_version + 1,
    );
    expect(await regressionAudit(db(), 'token_rotation.global')).toHaveLength(2);
    const fresh = await restarted.login(user.email);
    expect(await me(restarted, fresh.accessToken)).toBe(200);
  });

  it('with no request at all, the servers raise a version set back within seconds, once', async () => {
    const before = await configRow(db());
    const rotation = await a.request('POST', '/api/v1/admin/security/rotations', {
      token: await a.adminToken(),
      body: { reason: 'breach', gracePeriodSeconds: 0 },
    });
    expect(rotation.statusCode).toBe(201);
    const raisesBefore = (await regressionAudit(db(), 'token_rotation.global')).length;
    await db()
      .updateTable('security_config')
      .set({ global_min_token_version: before.global_min_token_version, grace_until: before.grace_until })
      .execute();
    await expect
      .poll(async () => (await configRow(db())).global_min_token_version, {
        timeout: 15_000,
        interval: 100,
        message: 'a background raise within 15 s',
      })
      .toBeGreaterThan(before.global_min_token_version + 1);
    // Every instance's check (the pass its 5-s timer runs) once more, all at once rather than
    // waiting out the interval: still one raise.
    await Promise.all(apps.map((app) => watchGlobalVersion(app.tw.context)));
    expect(await regressionAudit(db(), 'token_rotation.global')).toHaveLength(raisesBefore + 1);
  }, 30_000);

  it('after a user rotation is undone, neither instance accepts what it killed; one audited raise', async () => {
    const user = await newUser(a);
    const killed = await a.login(user.email);
    expect(await me(a, killed.accessToken)).toBe(200);
    expect(await me(b, killed.accessToken)).toBe(200);
    const admin = await a.adminToken();
    const rotation = await a.request('POST', `/api/v1/admin/users/${user.id}/rotations`, {
      token: admin,
      body: { reason: 'stolen laptop' },
    });
    expect(rotation.statusCode).toBe(201);
    clock.advance(PAST_CACHE_TTL_SECONDS);
    for (const app of [a, b]) expect(await me(app, killed.accessToken)).toBe(401);
    expect(await userVersion(db(), user.id)).toBe(2);

    await db().updateTable('users').set({ min_token_version: 1 }).where('id', '=', user.id).execute();
    clock.advance(PAST_CACHE_TTL_SECONDS);

    await expectStillKilledOnBoth(killed, 'user_rotation');
    expect(await userVersion(db(), user.id)).toBeGreaterThan(2);
    const audit = (await regressionAudit(db(), 'token_rotation.user')).filter(
      (row) => row.user_id === user.id,
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]?.reason).toBe('version regression: user version 2 was in force, the database had 1');

    const fresh = await b.login(user.email);
    expect(await me(a, fresh.accessToken)).toBe(200);
    expect(await me(b, fresh.accessToken)).toBe(200);
  });
});
