import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { testDatabases } from '../support/databases.js';
import { ManualClock } from '../support/manual-clock.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestApp, TEST_ENV, USER_PASSWORD } from '../support/test-app.js';

describe('restart on the same PGlite data dir', () => {
  it('keeps users, versions and valid tokens', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tokenwarden-restart-'));
    const clock = new ManualClock();
    const config = loadConfig({ ...TEST_ENV, TOKENWARDEN_DATA_DIR: dataDir });
    const boot = () => createTokenwarden(config, { clock, logger: false, defaultMetrics: false });
    try {
      const first = await boot();
      const call = (tw: typeof first, method: 'GET' | 'POST', url: string, body?: object, token?: string) =>
        tw.app.inject({
          method,
          url,
          ...(body === undefined ? {} : { payload: body }),
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        });
      expect(
        (await call(first, 'POST', '/api/v1/users', { email: 'keep@example.com', password: USER_PASSWORD }))
          .statusCode,
      ).toBe(201);
      const pair = (
        await call(first, 'POST', '/api/v1/sessions', { email: 'keep@example.com', password: USER_PASSWORD })
      ).json();
      const admin = (
        await call(first, 'POST', '/api/v1/sessions', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })
      ).json();
      const rotated = await call(
        first,
        'POST',
        '/api/v1/admin/security/rotations',
        { reason: 'before restart' },
        admin.accessToken,
      );
      expect(rotated.statusCode).toBe(201);
      const jwksBefore = (await call(first, 'GET', '/.well-known/jwks.json')).json();
      await first.close();

      const second = await boot();
      try {
        // The same admin bootstrap ran again without creating a second admin.
        const users = await second.db.selectFrom('users').select('email').execute();
        expect(users.map((u) => u.email).sort()).toEqual([ADMIN_EMAIL, 'keep@example.com']);
        expect((await call(second, 'GET', '/.well-known/jwks.json')).json()).toEqual(jwksBefore);
        // The access token issued before the restart still verifies (same key; inside the grace window).
        expect((await call(second, 'GET', '/api/v1/users/me', undefined, pair.accessToken)).statusCode).toBe(
          200,
        );
        const config2 = (
          await call(second, 'GET', '/api/v1/admin/security/config', undefined, admin.accessToken)
        ).json();
        expect(config2).toMatchObject({ globalMinTokenVersion: 2, lastRotationReason: 'before restart' });
        const refreshed = await call(second, 'POST', '/api/v1/tokens', { refreshToken: pair.refreshToken });
        expect(refreshed.statusCode).toBe(200);
        const login = await call(second, 'POST', '/api/v1/sessions', {
          email: 'keep@example.com',
          password: USER_PASSWORD,
        });
        expect(login.statusCode).toBe(201);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    // Two PGlite boots, the first an initdb of an empty directory (~10 s on a loaded 2-core machine).
  }, 120_000);
});

describe.each(testDatabases())('a second instance over the same database on $name', (target) => {
  it('accepts the tokens the first one issued', async () => {
    const database = await target.create();
    try {
      const clock = new ManualClock();
      const a = await startTestApp(database, {}, clock);
      await a.register('shared@example.com');
      const pair = await a.login('shared@example.com');
      await a.close();
      const b = await startTestApp(database, {}, clock);
      try {
        expect((await b.request('GET', '/api/v1/users/me', { token: pair.accessToken })).statusCode).toBe(
          200,
        );
        expect((await b.refresh(pair.refreshToken)).statusCode).toBe(200);
      } finally {
        await b.close();
      }
    } finally {
      await database.close();
    }
  });
});
