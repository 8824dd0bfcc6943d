import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { EventType } from '../../src/application/events.js';
import { createTokenwarden, loggerOptions } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { testDatabases } from '../support/databases.js';
import { captureLogs } from '../support/log-capture.js';
import { ManualClock } from '../support/manual-clock.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_ENV } from '../support/test-app.js';

describe.each(testDatabases())('no secret reaches the logs on $name', (target) => {
  it('a whole session at trace level logs no password, refresh token or access token', async () => {
    const { lines, sink } = captureLogs();
    const database = await target.create();
    const config = loadConfig({
      ...TEST_ENV,
      LOG_LEVEL: 'trace',
      TOKENWARDEN_REJECTION_ROLLUP_INTERVAL_MS: '50',
    });
    const options = loggerOptions('trace') as object;
    const tw = await createTokenwarden(config, {
      clock: new ManualClock(),
      database,
      logger: { ...options, stream: sink },
      logStream: sink,
      defaultMetrics: false,
    });
    const secrets: string[] = [ADMIN_PASSWORD];
    const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, token?: string) => {
      const res = await tw.app.inject({
        method,
        url,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : (body as object) }),
        ...(typeof body === 'string' ? { headers: { 'content-type': 'application/json' } } : {}),
      });
      const json = res.body.startsWith('{') ? (JSON.parse(res.body) as Record<string, unknown>) : {};
      for (const key of ['accessToken', 'refreshToken'])
        if (typeof json[key] === 'string') secrets.push(json[key] as string);
      return { status: res.statusCode, json };
    };
    try {
      const password = 'first secret password';
      const newPassword = 'second secret password';
      secrets.push(password, newPassword);
      expect((await call('POST', '/api/v1/users', { email: 'logs@example.com', password })).status).toBe(201);
      const pair = (await call('POST', '/api/v1/sessions', { email: 'logs@example.com', password })).json;
      const refreshed = (await call('POST', '/api/v1/tokens', { refreshToken: pair.refreshToken })).json;
      expect(typeof refreshed.accessToken).toBe('string');
      await call('POST', '/api/v1/tokens', { refreshToken: pair.refreshToken }); // a retry: same successor
      await call('GET', '/api/v1/users/me', undefined, refreshed.accessToken as string);
      const changed = await call(
        'POST',
        '/api/v1/users/me/password',
        { currentPassword: password, newPassword },
        refreshed.accessToken as string,
      );
      expect(changed.status).toBe(200);
      const admin = (await call('POST', '/api/v1/sessions', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }))
        .json;
      expect(
        (
          await call(
            'POST',
            '/api/v1/admin/security/rotations',
            { reason: 'log test', gracePeriodSeconds: 0 },
            admin.accessToken as string,
          )
        ).status,
      ).toBe(201);
      // Bad requests that carry secrets: a rotated token, a wrong password, malformed JSON, a bad header.
      expect((await call('POST', '/api/v1/tokens', { refreshToken: changed.json.refreshToken })).status).toBe(
        401,
      );
      expect(
        (
          await call('POST', '/api/v1/sessions', {
            email: 'logs@example.com',
            password: 'wrong secret password',
          })
        ).status,
      ).toBe(401);
      secrets.push('wrong secret password', 'broken secret password');
      await call(
        'POST',
        '/api/v1/sessions',
        '{"email":"logs@example.com","password":"broken secret password"',
      );
      await call('GET', '/api/v1/users/me', undefined, admin.accessToken as string);
      await call('DELETE', '/api/v1/sessions/current', undefined, `${refreshed.accessToken as string}x`);
      await call('POST', '/api/v1/users', { email: 'logs@example.com', password, role: 'admin' });
      // One rejection rollup (every 50 ms here) has written its window, logging as it goes.
      await expect
        .poll(
          async () =>
            (
              await tw.db
                .selectFrom('outbox')
                .select('id')
                .where('event_type', '=', EventType.TokenRejectedDueToRotation)
                .execute()
            ).length,
          { timeout: 10_000, interval: 20 },
        )
        .toBeGreaterThan(0);
    } finally {
      await tw.close();
      await database.close();
    }
    const log = lines.join('');
    // Not vacuous: every request above wrote its access line (with its request facts) here.
    expect(lines.filter((line) => line.includes('"msg":"request completed"')).length).toBeGreaterThanOrEqual(
      8,
    );
    for (const secret of secrets) {
      // The whole value, and for tokens their distinctive parts (a JWT's signature, a refresh token's body).
      const pieces = [
        secret,
        ...(secret.startsWith('twr_') ? [secret.slice(4)] : []),
        ...(secret.split('.').length === 3 ? [secret.split('.')[2] as string] : []),
      ];
      for (const piece of pieces)
        expect(log.includes(piece), `a secret is in the log: ${piece.slice(0, 12)}…`).toBe(false);
    }
  });

  it('a failing statement logs its error without the query parameters (no password hash, no row values)', async () => {
    const { lines, sink } = captureLogs();
    const database = await target.create();
    const tw = await createTokenwarden(loadConfig({ ...TEST_ENV, LOG_LEVEL: 'trace' }), {
      clock: new ManualClock(),
      database,
      logger: { ...(loggerOptions('trace') as object), stream: sink },
      logStream: sink,
      defaultMetrics: false,
    });
    try {
      // A constraint the application does not expect: the insert of a new user, whose
      // parameters hold the argon2id hash, fails in the database (as a full disk, a
      // trigger or a schema drift would make it fail) and reaches the error handler.
      await sql`alter table users add constraint refuse_new_users check (created_at < '2000-01-01') not valid`.execute(
        tw.db,
      );
      const res = await tw.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        payload: { email: 'failing@example.com', password: 'a failing secret password' },
      });
      expect(res.statusCode).toBe(500);
    } finally {
      await tw.close();
      await database.close();
    }
    const log = lines.join('');
    const failure = lines.find((line) => line.includes('refuse_new_users'));
    expect(failure, 'the database error is logged').toBeDefined();
    expect(log).not.toContain('$argon2');
    expect(log).not.toContain('a failing secret password');
    expect(log).not.toContain('failing@example.com');
  });
});
