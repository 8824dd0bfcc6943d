import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditAction } from '../../src/application/events.js';
import { testDatabases } from '../support/databases.js';
import { useTestApp } from '../support/test-app.js';

// What the admin console reads beyond the plain lists: users by id (to show emails in the
// audit log), the audit log by date range, the action list and the rotation activity.
describe.each(testDatabases())('admin API for the console on $name', (target) => {
  const t = useTestApp(target);
  let admin: string;
  let alice: { id: string; email: string };
  let bob: { id: string; email: string };
  const start = new Date('2026-01-01T00:00:00.000Z');

  beforeAll(async () => {
    admin = await t.adminToken();
    alice = await t.register('alice@example.com');
    bob = await t.register('bob@example.com');
  });

  // `null` sends no bearer token at all.
  const get = (url: string, token: string | null = admin) =>
    t.request('GET', url, token === null ? {} : { token });

  it('resolves a batch of user ids to users, ignoring ids that name no one', async () => {
    const nobody = '00000000-0000-4000-8000-000000000000';
    const res = await get(`/api/v1/admin/users?ids=${alice.id},${nobody},${bob.id}&limit=100`);
    expect(res.statusCode).toBe(200);
    const emails = res.json().items.map((u: { email: string }) => u.email);
    expect(emails.sort()).toEqual(['alice@example.com', 'bob@example.com']);
  });

  it.each([
    ['not a uuid', 'x'],
    ['an empty entry', ','],
    ['SQL', "' or 1=1 --"],
    ['101 ids', Array.from({ length: 101 }, () => '00000000-0000-4000-8000-000000000000').join(',')],
  ])('refuses ids with %s (422, never 500)', async (_label, ids) => {
    const res = await get(`/api/v1/admin/users?ids=${encodeURIComponent(ids)}`);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'validation_failed' });
  });

  it('lists every audit action from the server table, for admins only', async () => {
    const res = await get('/api/v1/admin/audit/actions');
    expect(res.statusCode).toBe(200);
    const items: string[] = res.json().items;
    expect([...items].sort()).toEqual(Object.values(AuditAction).sort());
    expect(items).toContain('service_client.created');
    expect(items).toContain('user.admin_bootstrap');
    const user = await t.login('alice@example.com');
    expect((await get('/api/v1/admin/audit/actions', user.accessToken)).statusCode).toBe(403);
    expect((await get('/api/v1/admin/audit/actions', null)).statusCode).toBe(401);
  });

  it('verifies the audit hash chain for admins only, and names an edited row', async () => {
    const intact = await get('/api/v1/admin/audit/verification');
    expect(intact.statusCode).toBe(200);
    const body = intact.json();
    expect(body).toMatchObject({ ok: true, break: null, firstSeq: 1, upgradeSeq: 0 });
    expect(body.rows).toBeGreaterThan(0);
    expect(body.head).toEqual({ seq: body.lastSeq, hash: body.lastHash });
    const user = await t.login('alice@example.com');
    expect((await get('/api/v1/admin/audit/verification', user.accessToken)).statusCode).toBe(403);
    expect((await get('/api/v1/admin/audit/verification', null)).statusCode).toBe(401);

    const db = t.tw.db;
    const row = await db
      .selectFrom('audit_log')
      .select(['id', 'reason'])
      .where('seq', '=', '1')
      .executeTakeFirstOrThrow();
    await sql`update audit_log set reason = 'rewritten' where seq = 1`.execute(db);
    try {
      expect((await get('/api/v1/admin/audit/verification')).json()).toMatchObject({
        ok: false,
        break: { kind: 'edited', seq: 1, id: String(row.id) },
      });
    } finally {
      await sql`update audit_log set reason = ${row.reason} where seq = 1`.execute(db);
    }
    expect((await get('/api/v1/admin/audit/verification')).json()).toMatchObject({ ok: true });
  });

  it('filters the audit log by a date range (until is exclusive)', async () => {
    const rotate = async (reason: string) =>
      t.request('POST', `/api/v1/admin/users/${bob.id}/rotations`, { token: admin, body: { reason } });
    // An hour passes between them: the admin's access token expires, so it logs in again.
    t.clock.advance(3600);
    admin = await t.adminToken();
    expect((await rotate('first')).statusCode).toBe(201);
    t.clock.advance(3600);
    admin = await t.adminToken();
    expect((await rotate('second')).statusCode).toBe(201);
    const firstAt = new Date(start.getTime() + 3600_000).toISOString();
    const secondAt = new Date(start.getTime() + 7200_000).toISOString();
    const reasons = async (query: string) =>
      (await get(`/api/v1/admin/audit?action=token_rotation.user&${query}`))
        .json()
        .items.map((e: { reason: string }) => e.reason);
    expect(await reasons(`since=${firstAt}&until=${secondAt}`)).toEqual(['first']);
    expect(await reasons(`since=${secondAt}`)).toEqual(['second']);
    expect(await reasons(`until=${firstAt}`)).toEqual([]);
    expect((await get('/api/v1/admin/audit?until=yesterday')).statusCode).toBe(422);
  });

  it('counts rotations and rotation rejections per interval', async () => {
    // Two user rotations of bob (previous test) in hours 1 and 2; now a global one in hour 2
    // with the rejections it causes rolled up.
    const pair = await t.login('alice@example.com');
    expect(
      (
        await t.request('POST', '/api/v1/admin/security/rotations', {
          token: admin,
          body: { reason: 'leak', gracePeriodSeconds: 0 },
        })
      ).statusCode,
    ).toBe(201);
    for (let i = 0; i < 3; i++) expect((await t.refresh(pair.refreshToken)).statusCode).toBe(401);
    expect(await t.tw.webhooks.rejections.flush()).toBe(true);
    admin = await t.adminToken(); // grace 0 ended the admin's own session too

    const res = await get(
      `/api/v1/admin/audit/activity?since=${start.toISOString()}&until=${new Date(start.getTime() + 4 * 3600_000).toISOString()}&bucketSeconds=3600`,
    );
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.bucketSeconds).toBe(3600);
    expect(body.buckets).toHaveLength(4);
    expect(body.buckets.map((b: { userRotations: number }) => b.userRotations)).toEqual([0, 1, 1, 0]);
    expect(body.buckets.map((b: { globalRotations: number }) => b.globalRotations)).toEqual([0, 0, 1, 0]);
    expect(body.buckets.map((b: { rejectedGlobal: number }) => b.rejectedGlobal)).toEqual([0, 0, 3, 0]);
    expect(body.buckets[2]).toMatchObject({ start: new Date(start.getTime() + 7200_000).toISOString() });

    // The default window: 24 whole hours, the last one holding now (the global rotation above).
    const recent = (await get('/api/v1/admin/audit/activity')).json();
    expect(recent.buckets).toHaveLength(24);
    expect(recent.until).toBe(new Date(start.getTime() + 3 * 3600_000).toISOString());
    expect(recent.buckets.at(-1)).toMatchObject({ globalRotations: 1, rejectedGlobal: 3 });
  });

  it.each([
    ['an empty window', 'since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z'],
    ['too fine an interval', 'bucketSeconds=59'],
    ['too many intervals', 'since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z&bucketSeconds=60'],
    ['an unknown parameter', 'bucket=1'],
    ['a non-date', 'since=%00'],
  ])('refuses activity with %s (422)', async (_label, query) => {
    const res = await get(`/api/v1/admin/audit/activity?${query}`);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'validation_failed' });
  });
});
