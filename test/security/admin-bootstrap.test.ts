import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DisableUser } from '../../src/application/commands/disable-user/command.js';
import { createTokenwarden, type DatabaseHandle, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { StartupError } from '../../src/startup-error.js';
import { type TestDatabase, testDatabases } from '../support/databases.js';
import { ManualClock } from '../support/manual-clock.js';
import { okValue } from '../support/result.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_ENV, USER_PASSWORD } from '../support/test-app.js';

const { TOKENWARDEN_ADMIN_EMAIL: _email, TOKENWARDEN_ADMIN_PASSWORD: _password, ...NO_ADMIN_ENV } = TEST_ENV;

/** A server over `database` with `env`; its core's log lines (JSON) land in `lines`. */
async function start(database: DatabaseHandle, env: Record<string, string>, lines: string[] = []) {
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig({ ...NO_ADMIN_ENV, LOG_LEVEL: 'info', ...env });
  const tw = await createTokenwarden(config, {
    clock: new ManualClock(),
    database,
    logger: false,
    defaultMetrics: false,
    logStream,
  });
  await tw.app.ready();
  return tw;
}

const withAdmin = (password = ADMIN_PASSWORD) => ({
  TOKENWARDEN_ADMIN_EMAIL: ADMIN_EMAIL,
  TOKENWARDEN_ADMIN_PASSWORD: password,
});

const call = (tw: Tokenwarden, method: 'GET' | 'POST', url: string, body?: object, token?: string) =>
  tw.app.inject({
    method,
    url,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { payload: body }),
  });

async function login(tw: Tokenwarden, email: string, password: string): Promise<string> {
  const res = await call(tw, 'POST', '/api/v1/sessions', { email, password });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().accessToken;
}

async function bootstrapAudit(tw: Tokenwarden, userId: string) {
  const page = okValue(await tw.services.listAuditEvents.execute({ userId, limit: 50 }));
  return page.items.filter((e) => e.action === 'user.admin_bootstrap' || e.action === 'user.promoted');
}

describe.each(testDatabases())('admin bootstrap on $name', (target) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await target.create();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('refuses to start when the admin email was registered first by someone else, and grants them nothing', async () => {
    // The attacker registers the email the operator will configure, before the first start with it.
    const early = await start(database, {});
    const registered = await call(early, 'POST', '/api/v1/users', {
      email: ADMIN_EMAIL,
      password: 'attacker-password-1',
    });
    expect(registered.statusCode).toBe(201);
    const attackerId: string = registered.json().id;
    const attackerToken = await login(early, ADMIN_EMAIL, 'attacker-password-1');
    await early.close();

    const lines: string[] = [];
    const refused = await start(database, withAdmin(), lines).catch((error: unknown) => error);
    // A start-up failure with its own code: npm start writes it as its one line.
    expect(refused).toBeInstanceOf(StartupError);
    expect(refused).toMatchObject({
      code: 'admin_bootstrap_refused',
      message: expect.stringMatching(/TOKENWARDEN_ADMIN_EMAIL.*TOKENWARDEN_ADMIN_PASSWORD/s),
    });
    expect(lines.join('\n')).not.toContain(ADMIN_PASSWORD);
    expect(String((refused as Error).message)).not.toContain(ADMIN_PASSWORD);

    const after = await start(database, {});
    try {
      const user = okValue(await after.services.getUser.execute(attackerId));
      expect(user.role).toBe('user');
      // The registrant's token did not gain admin, nor does a fresh login.
      expect(
        (await call(after, 'GET', '/api/v1/admin/security/config', undefined, attackerToken)).statusCode,
      ).toBe(403);
      const fresh = await login(after, ADMIN_EMAIL, 'attacker-password-1');
      expect((await call(after, 'GET', '/api/v1/admin/security/config', undefined, fresh)).statusCode).toBe(
        403,
      );
      // The operator's password is not the account's.
      expect(
        (await call(after, 'POST', '/api/v1/sessions', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }))
          .statusCode,
      ).toBe(401);
      expect(await bootstrapAudit(after, attackerId)).toEqual([
        expect.objectContaining({
          actor: 'system',
          action: 'user.admin_bootstrap',
          details: { outcome: 'refused', why: 'password_mismatch' },
        }),
      ]);
    } finally {
      await after.close();
    }
  });
});

describe.each(testDatabases())('admin bootstrap outcomes on $name', (target) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await target.create();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('creates the admin, then leaves it alone on restart; both logged at info and audited', async () => {
    const firstLines: string[] = [];
    const first = await start(database, withAdmin(), firstLines);
    const adminToken = await login(first, ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(
      (await call(first, 'GET', '/api/v1/admin/security/config', undefined, adminToken)).statusCode,
    ).toBe(200);
    const adminId: string = (await call(first, 'GET', '/api/v1/users/me', undefined, adminToken)).json().id;
    await first.close();
    const created = firstLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'admin bootstrap: created');
    expect(created).toMatchObject({ level: 30, outcome: 'created', userId: adminId, email: ADMIN_EMAIL });

    const againLines: string[] = [];
    const again = await start(database, withAdmin(), againLines);
    try {
      expect(againLines.map((l) => JSON.parse(l).msg)).toContain('admin bootstrap: unchanged');
      expect([...firstLines, ...againLines].join('\n')).not.toContain(ADMIN_PASSWORD);
      // The token from before the restart still works: nothing was rotated.
      expect(
        (await call(again, 'GET', '/api/v1/admin/security/config', undefined, adminToken)).statusCode,
      ).toBe(200);
      const audit = okValue(await again.services.listAuditEvents.execute({ userId: adminId, limit: 50 }));
      expect(audit.items.map((e) => [e.action, e.actor, e.details])).toEqual(
        expect.arrayContaining([
          ['user.registered', 'system', { role: 'admin' }],
          ['user.admin_bootstrap', 'system', { outcome: 'unchanged', passwordMatches: true }],
        ]),
      );
    } finally {
      await again.close();
    }
  });

  it('promotes an existing user whose password verifies, audited, and rotates it', async () => {
    const email = 'operator-made-me@example.com';
    const early = await start(database, {});
    const userId: string = (
      await call(early, 'POST', '/api/v1/users', { email, password: USER_PASSWORD })
    ).json().id;
    const before = await login(early, email, USER_PASSWORD);
    await early.close();

    const lines: string[] = [];
    const tw = await start(
      database,
      { TOKENWARDEN_ADMIN_EMAIL: email, TOKENWARDEN_ADMIN_PASSWORD: USER_PASSWORD },
      lines,
    );
    try {
      expect(lines.map((l) => JSON.parse(l))).toContainEqual(
        expect.objectContaining({ msg: 'admin bootstrap: promoted', outcome: 'promoted', userId }),
      );
      // A token from before the promotion does not carry admin power: it is refused outright.
      expect((await call(tw, 'GET', '/api/v1/users/me', undefined, before)).statusCode).toBe(401);
      const after = await login(tw, email, USER_PASSWORD);
      expect((await call(tw, 'GET', '/api/v1/admin/security/config', undefined, after)).statusCode).toBe(200);
      expect(await bootstrapAudit(tw, userId)).toEqual([
        expect.objectContaining({
          actor: 'system',
          action: 'user.promoted',
          reason: 'TOKENWARDEN_ADMIN_EMAIL at start-up',
          details: { role: { from: 'user', to: 'admin' }, previousVersion: 1, newVersion: 2 },
        }),
      ]);
    } finally {
      await tw.close();
    }
  });
});

describe.each(testDatabases())('admin bootstrap edge cases on $name', (target) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await target.create();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('leaves an admin who changed their password alone, and refuses a disabled user even with the password', async () => {
    const first = await start(database, withAdmin());
    const token = await login(first, ADMIN_EMAIL, ADMIN_PASSWORD);
    const changed = await call(
      first,
      'POST',
      '/api/v1/users/me/password',
      { currentPassword: ADMIN_PASSWORD, newPassword: 'changed-since-1' },
      token,
    );
    expect(changed.statusCode, changed.body).toBe(200);
    const disabledEmail = 'disabled-first@example.com';
    const disabledId: string = (
      await call(first, 'POST', '/api/v1/users', { email: disabledEmail, password: USER_PASSWORD })
    ).json().id;
    await first.services.disableUser.handle(
      DisableUser({ userId: disabledId, actor: 'cli:op', reason: null }),
    );
    await first.close();

    const lines: string[] = [];
    const again = await start(database, withAdmin(), lines);
    try {
      // The restart did not reset the password the admin chose.
      await login(again, ADMIN_EMAIL, 'changed-since-1');
      expect(lines.map((l) => JSON.parse(l))).toContainEqual(
        expect.objectContaining({ outcome: 'unchanged', passwordMatches: false }),
      );
    } finally {
      await again.close();
    }

    await expect(
      start(database, { TOKENWARDEN_ADMIN_EMAIL: disabledEmail, TOKENWARDEN_ADMIN_PASSWORD: USER_PASSWORD }),
    ).rejects.toThrow(/TOKENWARDEN_ADMIN_EMAIL names an existing account that is disabled/);
  });
});

describe.each(testDatabases())('promoting a user through the admin API on $name', (target) => {
  let database: TestDatabase;
  let tw: Tokenwarden;
  beforeAll(async () => {
    database = await target.create();
    tw = await start(database, withAdmin());
  });
  afterAll(async () => {
    await tw?.close();
    await database?.close();
  });

  it('answers 200 with the user as admin, audited with the reason; its old tokens are refused', async () => {
    const admin = await login(tw, ADMIN_EMAIL, ADMIN_PASSWORD);
    const adminId: string = (await call(tw, 'GET', '/api/v1/users/me', undefined, admin)).json().id;
    const bob = (
      await call(tw, 'POST', '/api/v1/users', { email: 'bob.promoted@example.com', password: USER_PASSWORD })
    ).json();
    const bobBefore = await login(tw, bob.email, USER_PASSWORD);

    const res = await call(
      tw,
      'POST',
      `/api/v1/admin/users/${bob.id}/promotion`,
      { reason: '  on call  ' },
      admin,
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: bob.id, email: bob.email, role: 'admin', minTokenVersion: 2 });

    expect((await call(tw, 'GET', '/api/v1/users/me', undefined, bobBefore)).statusCode).toBe(401);
    const bobAfter = await login(tw, bob.email, USER_PASSWORD);
    expect((await call(tw, 'GET', '/api/v1/admin/security/config', undefined, bobAfter)).statusCode).toBe(
      200,
    );

    const audit = okValue(
      await tw.services.listAuditEvents.execute({
        action: 'user.promoted',
        userId: bob.id,
        limit: 10,
      }),
    );
    expect(audit.items).toEqual([
      expect.objectContaining({
        actor: adminId,
        reason: 'on call',
        details: expect.objectContaining({ newVersion: 2 }),
      }),
    ]);

    // Again: nothing changes, no second row.
    const again = await call(
      tw,
      'POST',
      `/api/v1/admin/users/${bob.id}/promotion`,
      { reason: 'again' },
      admin,
    );
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ role: 'admin', minTokenVersion: 2 });
    expect(
      okValue(
        await tw.services.listAuditEvents.execute({ action: 'user.promoted', userId: bob.id, limit: 10 }),
      ).items,
    ).toHaveLength(1);
  });

  it('is refused to a non-admin (403), needs a reason (422) and a known user (404)', async () => {
    const admin = await login(tw, ADMIN_EMAIL, ADMIN_PASSWORD);
    const carol = (
      await call(tw, 'POST', '/api/v1/users', { email: 'carol.self@example.com', password: USER_PASSWORD })
    ).json();
    const carolToken = await login(tw, carol.email, USER_PASSWORD);

    const self = await call(
      tw,
      'POST',
      `/api/v1/admin/users/${carol.id}/promotion`,
      { reason: 'me' },
      carolToken,
    );
    expect(self.statusCode).toBe(403);
    expect(self.json()).toMatchObject({ code: 'forbidden' });
    expect(okValue(await tw.services.getUser.execute(carol.id)).role).toBe('user');

    for (const body of [{}, { reason: '   ' }, { reason: 'x'.repeat(501) }]) {
      const bad = await call(tw, 'POST', `/api/v1/admin/users/${carol.id}/promotion`, body, admin);
      expect(bad.statusCode).toBe(422);
      expect(bad.json()).toMatchObject({ code: 'validation_failed' });
    }
    const missing = await call(
      tw,
      'POST',
      '/api/v1/admin/users/00000000-0000-4000-8000-000000000000/promotion',
      { reason: 'who?' },
      admin,
    );
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'user_not_found' });
    expect(
      (await call(tw, 'POST', '/api/v1/admin/users/not-a-uuid/promotion', { reason: 'who?' }, admin))
        .statusCode,
    ).toBe(404);
    expect(okValue(await tw.services.getUser.execute(carol.id)).role).toBe('user');
  });
});
