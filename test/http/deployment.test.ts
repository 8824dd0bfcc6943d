import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/composition-root.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { type TestDatabase, testDatabases } from '../support/databases.js';
import { startTestApp, type TestApp, useTestApp } from '../support/test-app.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const APP_ORIGIN = 'http://app.example.test:5173';

describe('deployment settings', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return '';
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
  };

  it('TOKENWARDEN_CORS_ORIGINS takes exact origins and refuses a wildcard, paths and other schemes', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(
      loadConfig({
        TOKENWARDEN_CORS_ORIGINS: ' https://App.example.com , http://localhost:5173,https://app.example.com',
      }).corsOrigins,
    ).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(problems({ TOKENWARDEN_CORS_ORIGINS: '*' })).toMatch(/TOKENWARDEN_CORS_ORIGINS: \* is refused/);
    expect(problems({ TOKENWARDEN_CORS_ORIGINS: 'null' })).toMatch(
      /TOKENWARDEN_CORS_ORIGINS: null is refused/,
    );
    for (const bad of [
      'https://a.example/',
      'https://a.example/app',
      'ftp://a.example',
      'a.example',
      'https://a\u0000.example',
      'https://\u202ea.example',
    ]) {
      expect(problems({ TOKENWARDEN_CORS_ORIGINS: bad })).toMatch(
        /TOKENWARDEN_CORS_ORIGINS: .* is not an origin/,
      );
    }
  });

  it('TOKENWARDEN_PUBLIC_URL is an http(s) base URL without credentials, query or fragment', () => {
    // Unset: derived from HOST and PORT, and said to be derived.
    expect(loadConfig({})).toMatchObject({ publicUrl: 'http://localhost:3000', publicUrlConfigured: false });
    expect(loadConfig({ TOKENWARDEN_PUBLIC_URL: 'https://auth.example.com/' }).publicUrl).toBe(
      'https://auth.example.com',
    );
    expect(loadConfig({ TOKENWARDEN_PUBLIC_URL: 'https://example.com/auth/' }).publicUrl).toBe(
      'https://example.com/auth',
    );
    for (const bad of [
      'auth.example.com',
      'ftp://a.example',
      'https://u:p@a.example',
      'https://a.example/?x=1',
      'https://a.example/#f',
      '\u0000',
    ]) {
      expect(problems({ TOKENWARDEN_PUBLIC_URL: bad })).toContain('TOKENWARDEN_PUBLIC_URL');
    }
  });

  it('TOKENWARDEN_SHUTDOWN_TIMEOUT_SECONDS defaults to 10 and must be a positive whole number', () => {
    expect(loadConfig({}).shutdownTimeoutSeconds).toBe(10);
    expect(loadConfig({ TOKENWARDEN_SHUTDOWN_TIMEOUT_SECONDS: '30' }).shutdownTimeoutSeconds).toBe(30);
    for (const bad of ['0', '-1', '3601', 'soon']) {
      expect(problems({ TOKENWARDEN_SHUTDOWN_TIMEOUT_SECONDS: bad })).toContain(
        'TOKENWARDEN_SHUTDOWN_TIMEOUT_SECONDS',
      );
    }
  });

  it('DATABASE_PREPARED_STATEMENTS is on by default and takes on or off', () => {
    const url = { DATABASE_URL: 'postgres://u@127.0.0.1/db' };
    const prepared = (env: Record<string, string>) => {
      const database = loadConfig({ ...url, ...env }).database;
      return database.kind === 'postgres' ? database.preparedStatements : undefined;
    };
    expect(prepared({})).toBe(true);
    expect(prepared({ DATABASE_PREPARED_STATEMENTS: 'off' })).toBe(false);
    expect(problems({ ...url, DATABASE_PREPARED_STATEMENTS: 'no' })).toContain(
      'DATABASE_PREPARED_STATEMENTS',
    );
  });

  it('TOKENWARDEN_SHUTDOWN_DELAY_SECONDS defaults to 0 and takes 0-300 whole seconds', () => {
    expect(loadConfig({}).shutdownDelaySeconds).toBe(0);
    expect(loadConfig({ TOKENWARDEN_SHUTDOWN_DELAY_SECONDS: '15' }).shutdownDelaySeconds).toBe(15);
    for (const bad of ['-1', '301', '1.5', '1e2', 'soon']) {
      expect(problems({ TOKENWARDEN_SHUTDOWN_DELAY_SECONDS: bad })).toContain(
        'TOKENWARDEN_SHUTDOWN_DELAY_SECONDS',
      );
    }
  });
});

describe.each(testDatabases())('CORS, CSP and the root page on $name', (target) => {
  const t = useTestApp(target, { TOKENWARDEN_CORS_ORIGINS: APP_ORIGIN });
  const plain = useTestApp(target, {});
  const https = useTestApp(target, { TOKENWARDEN_PUBLIC_URL: 'https://auth.example.com' });

  const preflight = (app: TestApp, origin: string) =>
    app.tw.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/sessions',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });

  it('answers a preflight from a listed origin: 204, the methods and headers the SDK sends, Max-Age', async () => {
    const res = await preflight(t, APP_ORIGIN);
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(res.headers['access-control-allow-methods'])).toContain('DELETE');
    const allowed = String(res.headers['access-control-allow-headers']).toLowerCase();
    expect(allowed).toContain('authorization');
    expect(allowed).toContain('content-type');
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(String(res.headers.vary)).toMatch(/origin/i);
  });

  it('a listed origin gets the allow header on the real request, with Retry-After exposed', async () => {
    const res = await t.tw.app.inject({
      method: 'POST',
      url: '/api/v1/sessions',
      headers: { origin: APP_ORIGIN, 'content-type': 'application/json' },
      payload: { email: 'nobody@example.com', password: 'wrong password!' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(String(res.headers['access-control-expose-headers'])).toContain('Retry-After');
    expect(String(res.headers.vary)).toMatch(/origin/i);
  });

  it('an unlisted origin, a look-alike or a wildcard request gets no allow header', async () => {
    for (const origin of [
      'http://evil.example.test:5173',
      `${APP_ORIGIN}.evil.test`,
      'http://app.example.test:5174',
      'null',
      '*',
      `${APP_ORIGIN}\u0000`,
    ]) {
      const res = await preflight(t, origin);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
    }
  });

  it('with no origins configured, no CORS header is ever sent', async () => {
    const res = await preflight(plain, APP_ORIGIN);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const get = await plain.request('GET', '/health', { headers: { origin: APP_ORIGIN } });
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('the CSP upgrades insecure requests only when the public URL is https', async () => {
    const csp = async (app: TestApp) =>
      String((await app.request('GET', '/admin')).headers['content-security-policy']);
    expect(await csp(plain)).not.toContain('upgrade-insecure-requests');
    expect(await csp(t)).not.toContain('upgrade-insecure-requests');
    expect(await csp(https)).toContain('upgrade-insecure-requests');
    // Still strict otherwise: scripts and form posts only from here.
    expect(await csp(plain)).toContain("script-src 'self'");
    expect(await csp(plain)).toContain("form-action 'self'");
  });

  it('the sign-in form posts (never a GET that would put the password in the URL)', async () => {
    const html = (await plain.request('GET', '/admin')).body;
    expect(html).toMatch(/<form id="sign-in-form"[^>]*method="post"/);
  });

  it('GET / points to the console, the docs and the health checks', async () => {
    const res = await plain.request('GET', '/');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      service: 'tokenwarden',
      links: expect.objectContaining({ admin: '/admin', docs: '/docs', health: '/health', ready: '/ready' }),
    });
  });
});

describe.each(testDatabases())('webhook gauges in /metrics on $name', (target) => {
  let hook: WebhookReceiver;
  let database: TestDatabase | undefined;
  let t: TestApp;
  beforeAll(async () => {
    hook = await startWebhookReceiver({ failFirst: 1_000_000, failStatus: 500 });
    database = await target.create();
    t = await startTestApp(database as DatabaseHandle, {
      TOKENWARDEN_WEBHOOK_URLS: hook.url,
      TOKENWARDEN_WEBHOOK_SECRET: 'deployment-test-webhook-secret',
      TOKENWARDEN_WEBHOOK_MAX_ATTEMPTS: '2',
      TOKENWARDEN_WEBHOOK_BACKOFF_BASE_MS: '1000',
      TOKENWARDEN_WEBHOOK_BACKOFF_MAX_MS: '1000',
      // The tests step the relay themselves.
      TOKENWARDEN_WEBHOOK_POLL_INTERVAL_MS: '3600000',
    });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
    await hook?.close();
  });

  const gauge = async (name: string) => {
    const body = (await t.request('GET', '/metrics')).body;
    const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(body);
    if (match === null) throw new Error(`${name} is not in /metrics`);
    return Number(match[1]);
  };

  it('counts the backlog of pending deliveries and the dead letters', async () => {
    const relay = t.tw.webhooks.relay!;
    const settle = async () => {
      for (let i = 0; i < 5; i++) {
        t.clock.advance(5); // past the 1 s backoff
        await relay.runOnce();
      }
    };
    await settle(); // whatever the start-up left ends dead
    const deadBefore = await gauge('tokenwarden_webhook_deliveries_dead');
    expect(await gauge('tokenwarden_webhook_deliveries_pending')).toBe(0);
    await t.register('gauge@example.com');
    await relay.runOnce(); // fanned out, first attempt refused: waiting for the second
    const pending = await gauge('tokenwarden_webhook_deliveries_pending');
    expect(pending).toBeGreaterThanOrEqual(1);
    await settle(); // the second attempt fails too: dead letters
    expect(await gauge('tokenwarden_webhook_deliveries_pending')).toBe(0);
    expect(await gauge('tokenwarden_webhook_deliveries_dead')).toBe(deadBefore + pending);
  });
});
