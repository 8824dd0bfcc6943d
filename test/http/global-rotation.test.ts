import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { startTestApp, useTestApp } from '../support/test-app.js';

describe.each(testDatabases())('global rotation over HTTP on $name', (target) => {
  const t = useTestApp(target);
  let admin: string;
  beforeAll(async () => {
    admin = await t.adminToken();
  });

  // `null` sends no bearer token at all.
  const rotate = (body: unknown, token: string | null = admin) =>
    t.request('POST', '/api/v1/admin/security/rotations', { body, token: token ?? undefined });

  it('starts at version 1 with a 300 s grace period', async () => {
    const res = await t.request('GET', '/api/v1/admin/security/config', { token: admin });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      globalMinTokenVersion: 1,
      gracePeriodSeconds: 300,
      lastRotationAt: null,
      lastRotationReason: null,
      graceUntil: null,
    });
  });

  it('refuses rotation without a bearer token (401), for a non-admin (403)', async () => {
    const none = await rotate({ reason: 'x' }, null);
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(none.json()).toMatchObject({ status: 401, code: 'unauthorized' });

    await t.register('plain@example.com');
    const user = await t.login('plain@example.com');
    const forbidden = await rotate({ reason: 'x' }, user.accessToken);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ code: 'forbidden' });
  });

  it.each([
    ['missing', {}],
    ['empty', { reason: '' }],
    ['blank', { reason: '   ' }],
    ['501 characters', { reason: 'r'.repeat(501) }],
  ])('rejects a %s reason with 422 validation_failed', async (_label, body) => {
    const res = await rotate(body);
    expect(res.statusCode).toBe(422);
    const problem = res.json();
    expect(problem).toMatchObject({ code: 'validation_failed', status: 422 });
    expect(problem.errors[0].path).toBe('/reason');
  });

  it('accepts a 500-character reason after trimming', async () => {
    const dry = await rotate({ reason: ` ${'r'.repeat(500)} `, dryRun: true });
    expect(dry.statusCode).toBe(200);
  });

  it('dry run changes nothing and counts what would stop working', async () => {
    const before = (await t.request('GET', '/api/v1/admin/security/config', { token: admin })).json();
    const auditBefore = (
      await t.request('GET', '/api/v1/admin/audit?action=token_rotation.global', { token: admin })
    ).json();
    const res = await rotate({ reason: 'preview', dryRun: true });
    expect(res.statusCode).toBe(200);
    const preview = res.json();
    expect(preview).toMatchObject({
      dryRun: true,
      currentVersion: 1,
      newVersion: 2,
      gracePeriodSeconds: 300,
    });
    // The admin and the plain user are logged in: two sessions, each with one live token.
    expect(preview.activeSessions).toBeGreaterThanOrEqual(2);
    expect(preview.activeRefreshTokens).toBe(preview.activeSessions);
    const after = (await t.request('GET', '/api/v1/admin/security/config', { token: admin })).json();
    expect(after).toEqual(before);
    const auditAfter = (
      await t.request('GET', '/api/v1/admin/audit?action=token_rotation.global', { token: admin })
    ).json();
    expect(auditAfter.items).toHaveLength(auditBefore.items.length);
  });

  it('rotates 1→2 then 2→3, audited with actor and reason', async () => {
    const first = await rotate({ reason: 'database leak', gracePeriodSeconds: 60 });
    expect(first.statusCode).toBe(201);
    const r1 = first.json();
    expect(r1).toMatchObject({ previousVersion: 1, newVersion: 2, gracePeriodSeconds: 60 });
    expect(new Date(r1.graceUntil).getTime() - new Date(r1.rotatedAt).getTime()).toBe(60_000);

    // The admin's own access token is one behind now, inside the grace window: still accepted.
    const second = await rotate({ reason: 'signing flaw' });
    expect(second.statusCode).toBe(201);
    expect(second.json()).toMatchObject({ previousVersion: 2, newVersion: 3, gracePeriodSeconds: 300 });

    // Two behind: refused at once, whatever the grace.
    const stale = await rotate({ reason: 'one more' });
    expect(stale.statusCode).toBe(401);
    expect(stale.json()).toMatchObject({
      code: 'token_rotated',
      rejection: 'global_rotation',
      tokenVersion: 1,
    });
    admin = await t.adminToken();

    const config = (await t.request('GET', '/api/v1/admin/security/config', { token: admin })).json();
    expect(config).toMatchObject({ globalMinTokenVersion: 3, lastRotationReason: 'signing flaw' });

    const audit = (
      await t.request('GET', '/api/v1/admin/audit?action=token_rotation.global', { token: admin })
    ).json();
    expect(audit.items.map((e: { reason: string }) => e.reason)).toEqual(['signing flaw', 'database leak']);
    const me = (await t.request('GET', '/api/v1/users/me', { token: admin })).json();
    for (const entry of audit.items) {
      expect(entry.actor).toBe(me.id);
      expect(entry.details).toMatchObject({
        newVersion: expect.any(Number),
        previousVersion: expect.any(Number),
      });
    }
  });

  it('PATCH config changes the grace period (audited) and validates it', async () => {
    const bad = await t.request('PATCH', '/api/v1/admin/security/config', {
      token: admin,
      body: { gracePeriodSeconds: 86_401 },
    });
    expect(bad.statusCode).toBe(422);
    const ok = await t.request('PATCH', '/api/v1/admin/security/config', {
      token: admin,
      body: { gracePeriodSeconds: 120 },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().gracePeriodSeconds).toBe(120);
    const audit = (
      await t.request('GET', '/api/v1/admin/audit?action=security_config.updated', { token: admin })
    ).json();
    expect(audit.items[0].details).toEqual({ gracePeriodSeconds: { from: 300, to: 120 } });
  });
});

describe.each(testDatabases())('grace window on $name', (target) => {
  const t = useTestApp(target);

  const rotate = async (gracePeriodSeconds: number) => {
    const res = await t.request('POST', '/api/v1/admin/security/rotations', {
      token: await t.adminToken(),
      body: { reason: 'test rotation', gracePeriodSeconds },
    });
    expect(res.statusCode).toBe(201);
    return res.json();
  };

  it('a one-behind token refreshes inside the grace window and its successor carries the new version', async () => {
    await t.register('grace@example.com');
    const pair = await t.login('grace@example.com');
    const rotation = await rotate(300);
    t.clock.advance(299);
    const res = await t.refresh(pair.refreshToken);
    expect(res.statusCode).toBe(200);
    const successor = res.json();
    const claims = JSON.parse(Buffer.from(successor.accessToken.split('.')[1], 'base64url').toString());
    expect(claims.gver).toBe(rotation.newVersion);

    // The successor keeps working long after the grace window closed.
    t.clock.advance(600);
    const later = await t.refresh(successor.refreshToken);
    expect(later.statusCode).toBe(200);
  });

  it('after the grace window a one-behind token is 401 token_rotated / global_rotation', async () => {
    await t.register('late@example.com');
    const pair = await t.login('late@example.com');
    const rotation = await rotate(300);
    t.clock.advance(300);
    const res = await t.refresh(pair.refreshToken);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({
      code: 'token_rotated',
      rejection: 'global_rotation',
      tokenVersion: rotation.previousVersion,
      requiredVersion: rotation.newVersion,
    });
    // The access token dies the same way.
    const me = await t.request('GET', '/api/v1/users/me', { token: pair.accessToken });
    expect(me.statusCode).toBe(401);
    expect(me.json()).toMatchObject({ code: 'token_rotated', rejection: 'global_rotation' });
    // And the user can log in again straight away.
    const fresh = await t.login('late@example.com');
    expect((await t.refresh(fresh.refreshToken)).statusCode).toBe(200);
  });

  it('two rotations inside one grace window reject the two-behind token at once', async () => {
    await t.register('twice@example.com');
    const pair = await t.login('twice@example.com');
    await rotate(3600);
    const second = await rotate(3600);
    const res = await t.refresh(pair.refreshToken);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({
      code: 'token_rotated',
      rejection: 'global_rotation',
      tokenVersion: second.newVersion - 2,
      requiredVersion: second.newVersion,
    });
  });

  it('a rotation with grace 0 rejects every older token at once', async () => {
    await t.register('nograce@example.com');
    const pair = await t.login('nograce@example.com');
    await rotate(0);
    expect((await t.refresh(pair.refreshToken)).statusCode).toBe(401);
  });
});

describe.each(testDatabases())('audit log paging on $name', (target) => {
  it('pages newest first with an opaque cursor, filtered by action', async () => {
    const database = await target.create();
    const t = await startTestApp(database);
    try {
      for (let i = 1; i <= 5; i++) {
        // Each rotation leaves the admin's previous token further behind: log in afresh.
        const res = await t.request('POST', '/api/v1/admin/security/rotations', {
          token: await t.adminToken(),
          body: { reason: `rotation ${i}` },
        });
        expect(res.statusCode).toBe(201);
      }
      const admin = await t.adminToken();
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `action=token_rotation.global&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`;
        const page = (await t.request('GET', `/api/v1/admin/audit?${query}`, { token: admin })).json();
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((e: { reason: string }) => e.reason));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(seen).toEqual(['rotation 5', 'rotation 4', 'rotation 3', 'rotation 2', 'rotation 1']);
    } finally {
      await t.close();
      await database.close();
    }
  });
});
