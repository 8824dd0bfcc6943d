import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useTestApp } from '../support/test-app.js';

describe.each(testDatabases())('system endpoints on $name', (target) => {
  const t = useTestApp(target, { TOKENWARDEN_RATE_LIMIT_MAX: '3' });

  it('health and ready answer 200', async () => {
    expect((await t.request('GET', '/health')).json()).toEqual({ status: 'ok' });
    const ready = await t.request('GET', '/ready');
    expect(ready.statusCode).toBe(200);
    // One process on PGlite: invalidation is local and never lost.
    expect(ready.json()).toEqual({
      status: 'ready',
      database: 'up',
      invalidation: { transport: 'local', state: 'subscribed' },
      failing: [],
    });
  });

  it('JWKS publishes the Ed25519 public key that verifies access tokens, and no private part', async () => {
    const answer = await t.request('GET', '/.well-known/jwks.json');
    // Cached a minute at most: a retired key leaves HTTP caches quickly.
    expect(answer.headers['cache-control']).toBe('public, max-age=60');
    const jwks = answer.json();
    expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: expect.any(String) });
      expect(key).not.toHaveProperty('d');
    }
    const { createLocalJWKSet, jwtVerify } = await import('jose');
    const res = await t.request('POST', '/api/v1/sessions', {
      body: { email: 'admin@example.com', password: 'admin-password-1' },
    });
    const { payload, protectedHeader } = await jwtVerify(res.json().accessToken, createLocalJWKSet(jwks), {
      currentDate: t.clock.now(),
    });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toHaveProperty('ver');
    expect(payload).toHaveProperty('gver');
  });

  it('OpenAPI lists every route of the contract; /docs serves the UI', async () => {
    const spec = (await t.request('GET', '/openapi.json')).json();
    const paths = Object.keys(spec.paths);
    for (const path of [
      '/api/v1/users',
      '/api/v1/sessions',
      '/api/v1/tokens',
      '/api/v1/sessions/current',
      '/api/v1/sessions/{id}',
      '/api/v1/users/me',
      '/api/v1/users/me/password',
      '/api/v1/users/me/rotations',
      '/api/v1/admin/security/rotations',
      '/api/v1/admin/users/{userId}/rotations',
      '/api/v1/admin/security/config',
      '/api/v1/admin/audit',
      '/api/v1/admin/users',
      '/api/v1/admin/users/{userId}/sessions',
      '/api/v1/admin/users/{userId}/promotion',
    ]) {
      expect(paths).toContain(path);
    }
    const docs = await t.request('GET', '/docs/');
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });

  it('sends security headers, the same on every response', async () => {
    const expected = {
      'content-security-policy':
        "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' 'unsafe-inline'",
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'origin-agent-cluster': '?1',
      'referrer-policy': 'no-referrer',
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
      'x-content-type-options': 'nosniff',
      'x-dns-prefetch-control': 'off',
      'x-download-options': 'noopen',
      'x-frame-options': 'SAMEORIGIN',
      'x-permitted-cross-domain-policies': 'none',
      'x-xss-protection': '0',
    };
    for (const [method, url] of [
      ['GET', '/health'],
      ['GET', '/no-such-route'],
      ['POST', '/api/v1/tokens'],
    ] as const) {
      const res = await t.request(method, url);
      expect(res.headers, `${method} ${url}`).toMatchObject(expected);
    }
  });

  it('rate-limits login with 429 rate_limited problems', async () => {
    // Its own client address, so the limit counts only these attempts.
    const attempt = () =>
      t.tw.app.inject({
        method: 'POST',
        url: '/api/v1/sessions',
        remoteAddress: '192.0.2.10',
        payload: { email: 'nobody@example.com', password: 'whatever!' },
      });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await attempt()).statusCode);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    const limited = await attempt();
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(limited.headers['retry-after']).toBeDefined();
  });

  it('exposes request and rotation counters in Prometheus format', async () => {
    const admin = await t.adminToken();
    const rotation = await t.request('POST', '/api/v1/admin/security/rotations', {
      token: admin,
      body: { reason: 'metrics' },
    });
    expect(rotation.statusCode).toBe(201);
    const metrics = await t.request('GET', '/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('tokenwarden_http_requests_total');
    expect(metrics.body).toMatch(
      /tokenwarden_http_requests_total\{method="GET",route="\/health",status="200"\} \d+/,
    );
    expect(metrics.body).toMatch(/tokenwarden_rotations_total\{scope="global",outcome="succeeded"\} 1/);
    // The bearer checks above went through the cache; PGlite (and a test app) invalidate locally.
    expect(metrics.body).toMatch(/tokenwarden_access_cache_hits_total \d+/);
    expect(metrics.body).toMatch(/tokenwarden_access_cache_misses_total [1-9]\d*/);
    expect(metrics.body).toMatch(
      /tokenwarden_invalidation_subscribed\{transport="(local|postgres|redis)"\} [01]/,
    );
  });
});
