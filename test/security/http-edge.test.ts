import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { testDatabases } from '../support/databases.js';
import { USER_PASSWORD, useTestApp } from '../support/test-app.js';

const [pglite] = testDatabases();

describe('TOKENWARDEN_TRUST_PROXY', () => {
  it('takes a hop count or a list of proxy addresses and CIDRs; off when unset or false', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TOKENWARDEN_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TOKENWARDEN_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(
      loadConfig({ TOKENWARDEN_TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,::1, loopback' }).trustProxy,
    ).toEqual(['10.0.0.0/8', '192.168.1.7', '::1', 'loopback']);
  });

  it('refuses true, naming the variable and what to set instead', () => {
    const load = () => loadConfig({ TOKENWARDEN_TRUST_PROXY: 'true' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/TOKENWARDEN_TRUST_PROXY.*X-Forwarded-For.*hop count/s);
    for (const bad of ['yes', '10.0.0.0/33', '300.1.1.1', '-1', '1.5', '10.0.0.1, <script>']) {
      expect(() => loadConfig({ TOKENWARDEN_TRUST_PROXY: bad }), bad).toThrow(/TOKENWARDEN_TRUST_PROXY/);
    }
  });
});

describe.each(testDatabases())('behind one trusted proxy hop on $name', (target) => {
  const t = useTestApp(target, { TOKENWARDEN_TRUST_PROXY: '1', TOKENWARDEN_RATE_LIMIT_MAX: '20' });
  const viaProxy = (url: string, forwardedFor: string, body: object, token?: string) =>
    t.tw.app.inject({
      method: 'POST',
      url,
      remoteAddress: '10.0.0.1',
      headers: {
        'x-forwarded-for': forwardedFor,
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      payload: body,
    });

  it('a rotating left-most X-Forwarded-For does not escape the per-address limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      // The client writes the left-most entries; the proxy appends the address it saw.
      const res = await viaProxy('/api/v1/sessions', `198.51.${i}.${i}, 203.0.113.7`, {
        email: 'nobody@example.com',
        password: 'wrong password',
      });
      statuses.push(res.statusCode);
    }
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(statuses.slice(20)).toEqual(Array(40).fill(429));
  });

  it('stores the address the proxy saw, and null when that is not an IP address', async () => {
    await t.register('proxied@example.com');
    const good = await viaProxy('/api/v1/sessions', 'spoofed, 203.0.113.21', {
      email: 'proxied@example.com',
      password: USER_PASSWORD,
    });
    expect(good.statusCode).toBe(201);
    const bad = await viaProxy('/api/v1/sessions', '<script>alert(1)</script>', {
      email: 'proxied@example.com',
      password: USER_PASSWORD,
    });
    expect(bad.statusCode).toBe(201);
    const list = await t.request('GET', '/api/v1/sessions', { token: good.json().accessToken });
    const ips = (list.json().items as { ip: string | null }[]).map((s) => s.ip);
    expect(ips).toContain('203.0.113.21');
    expect(ips).toContain(null);
    for (const ip of ips) expect(ip === null || isIP(ip) !== 0).toBe(true);
  });
});

describe('behind a proxy given by CIDR', () => {
  const t = useTestApp(pglite!, { TOKENWARDEN_TRUST_PROXY: '10.0.0.0/8' });

  it('takes the first address from the right that is not a trusted proxy', async () => {
    await t.register('cidr@example.com');
    const res = await t.tw.app.inject({
      method: 'POST',
      url: '/api/v1/sessions',
      remoteAddress: '10.0.0.1',
      headers: { 'x-forwarded-for': '1.2.3.4, 203.0.113.30, 10.9.9.9' },
      payload: { email: 'cidr@example.com', password: USER_PASSWORD },
    });
    expect(res.statusCode).toBe(201);
    const list = await t.request('GET', '/api/v1/sessions', { token: res.json().accessToken });
    expect(list.json().items.map((s: { ip: string }) => s.ip)).toEqual(['203.0.113.30']);
  });
});

describe('wrong current password on POST /users/me/password', () => {
  const t = useTestApp(pglite!, { TOKENWARDEN_LOGIN_ACCOUNT_MAX_FAILURES: '10' });

  it('counts in the per-account throttle: 429 with Retry-After after the max', async () => {
    await t.register('stolen-token@example.com');
    const { accessToken } = await t.login('stolen-token@example.com');
    const change = (currentPassword: string) =>
      t.request('POST', '/api/v1/users/me/password', {
        token: accessToken,
        body: { currentPassword, newPassword: 'a brand new password' },
      });
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof change>> | undefined;
    for (let i = 0; i < 40; i++) {
      const res = await change(`guess number ${i}`);
      statuses.push(res.statusCode);
      if (res.statusCode === 429) limited ??= res;
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(30).fill(429));
    expect(limited?.json()).toMatchObject({ code: 'rate_limited', retryAfterSeconds: expect.any(Number) });
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThan(0);
    // The right password from the locked source is refused too: the lock is no oracle.
    expect((await change(USER_PASSWORD)).statusCode).toBe(429);
    // And the account's logins from that source are locked with it.
    const login = await t.request('POST', '/api/v1/sessions', {
      body: { email: 'stolen-token@example.com', password: USER_PASSWORD },
    });
    expect(login.statusCode).toBe(429);
  });
});

describe('one credentials budget per address', () => {
  const t = useTestApp(pglite!, { TOKENWARDEN_RATE_LIMIT_MAX: '20' });
  const from = (ip: string, url: string, body: object, token?: string) =>
    t.tw.app.inject({
      method: 'POST',
      url,
      remoteAddress: ip,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      payload: body,
    });

  it('20 logins then POST /users from the same address is 429', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await from('192.0.2.50', '/api/v1/sessions', { email: `n${i}@example.com`, password: 'x' });
      expect(res.statusCode).toBe(401);
    }
    const register = await from('192.0.2.50', '/api/v1/users', {
      email: 'late@example.com',
      password: USER_PASSWORD,
    });
    expect(register.statusCode).toBe(429);
    expect(register.json()).toMatchObject({ code: 'rate_limited' });
    // Another address has its own budget.
    const other = await from('192.0.2.51', '/api/v1/users', {
      email: 'late@example.com',
      password: USER_PASSWORD,
    });
    expect(other.statusCode).toBe(201);
  });

  it('registrations and password changes draw on the same budget as logins', async () => {
    const owner = await from('192.0.2.61', '/api/v1/users', {
      email: 'budget@example.com',
      password: USER_PASSWORD,
    });
    expect(owner.statusCode).toBe(201);
    const login = await from('192.0.2.61', '/api/v1/sessions', {
      email: 'budget@example.com',
      password: USER_PASSWORD,
    });
    expect(login.statusCode).toBe(201);
    for (let i = 0; i < 18; i++) {
      const res = await from('192.0.2.61', '/api/v1/users', {
        email: `r${i}@example.com`,
        password: 'short',
      });
      expect(res.statusCode).toBe(422);
    }
    const change = await from(
      '192.0.2.61',
      '/api/v1/users/me/password',
      { currentPassword: USER_PASSWORD, newPassword: 'a brand new password' },
      login.json().accessToken,
    );
    expect(change.statusCode).toBe(429);
  });
});

const METRICS_TOKEN = 'metrics-scrape-token-0123456789abcdef';

describe('/metrics behind a bearer token', () => {
  const t = useTestApp(pglite!, { TOKENWARDEN_METRICS_TOKEN: METRICS_TOKEN });

  it('401 problem without the token or with a wrong one, 200 with it', async () => {
    const none = await t.request('GET', '/metrics');
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toContain('application/problem+json');
    expect(none.json()).toMatchObject({ code: 'unauthorized', status: 401 });
    for (const wrong of [
      'Bearer nope',
      `Bearer ${METRICS_TOKEN}x`,
      `Bearer ${METRICS_TOKEN.slice(0, -1)}`,
      `Basic ${METRICS_TOKEN}`,
      METRICS_TOKEN,
    ]) {
      const res = await t.request('GET', '/metrics', { headers: { authorization: wrong } });
      expect(res.statusCode, wrong).toBe(401);
    }
    const ok = await t.request('GET', '/metrics', { token: METRICS_TOKEN });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('tokenwarden_http_requests_total');
  });

  it('refuses a short metrics token at start-up', () => {
    expect(() => loadConfig({ TOKENWARDEN_METRICS_TOKEN: 'short' })).toThrow(/TOKENWARDEN_METRICS_TOKEN/);
  });
});

describe('/metrics on a non-loopback HOST without a metrics token', () => {
  const wildcard = useTestApp(pglite!, { HOST: '0.0.0.0' });
  const explicit = useTestApp(pglite!, { HOST: '0.0.0.0', TOKENWARDEN_METRICS: 'on' });
  const tokened = useTestApp(pglite!, { HOST: '0.0.0.0', TOKENWARDEN_METRICS_TOKEN: METRICS_TOKEN });

  it('is off (404) unless TOKENWARDEN_METRICS=on or a token is set', async () => {
    expect((await wildcard.request('GET', '/metrics')).statusCode).toBe(404);
    expect((await explicit.request('GET', '/metrics')).statusCode).toBe(200);
    expect((await tokened.request('GET', '/metrics')).statusCode).toBe(401);
    expect((await tokened.request('GET', '/metrics', { token: METRICS_TOKEN })).statusCode).toBe(200);
  });

  it('says at start how to turn it on; a loopback HOST keeps it on', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'auth.internal']) {
      const { metricsEndpoint } = loadConfig({ HOST: host });
      expect(metricsEndpoint.enabled, host).toBe(false);
      expect(metricsEndpoint.offByDefault, host).toMatch(/TOKENWARDEN_METRICS_TOKEN.*TOKENWARDEN_METRICS=on/);
    }
    for (const host of ['127.0.0.1', '::1', 'localhost']) {
      expect(loadConfig({ HOST: host }).metricsEndpoint).toMatchObject({ enabled: true, offByDefault: null });
    }
    expect(
      loadConfig({ HOST: '0.0.0.0', TOKENWARDEN_METRICS: 'off' }).metricsEndpoint.offByDefault,
    ).toBeNull();
  });
});

describe('/metrics and /docs turned off', () => {
  const t = useTestApp(pglite!, { TOKENWARDEN_METRICS: 'off', TOKENWARDEN_DOCS: 'off' });

  it('answers 404 for /metrics, /docs and /openapi.json', async () => {
    for (const path of ['/metrics', '/docs', '/docs/', '/openapi.json']) {
      const res = await t.request('GET', path);
      expect(res.statusCode, path).toBe(404);
    }
    expect((await t.request('GET', '/health')).statusCode).toBe(200);
  });

  it('refuses a value other than on or off', () => {
    expect(() => loadConfig({ TOKENWARDEN_DOCS: 'maybe' })).toThrow(/TOKENWARDEN_DOCS/);
    expect(() => loadConfig({ TOKENWARDEN_METRICS: 'maybe' })).toThrow(/TOKENWARDEN_METRICS/);
  });
});
