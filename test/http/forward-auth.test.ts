import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { DisableUser } from '../../src/application/commands/disable-user/command.js';
import { testDatabases } from '../support/databases.js';
import { useTestApp } from '../support/test-app.js';

const FORWARD_AUTH = '/api/v1/forward-auth';

describe.each(testDatabases())('the forward-auth endpoint on $name', (target) => {
  // Small per-address budgets: a check drawing on either would be refused well before 60.
  const t = useTestApp(target, { TOKENWARDEN_RATE_LIMIT_MAX: '40', TOKENWARDEN_RATE_LIMIT_REFRESH_MAX: '5' });

  const check = (options: Partial<InjectOptions> & { token?: string } = {}) => {
    const { token, headers, ...rest } = options;
    return t.tw.app.inject({
      method: 'GET',
      url: FORWARD_AUTH,
      ...rest,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
    } as InjectOptions);
  };
  const expectAllowed = (res: LightMyRequestResponse, user: { id: string }, sessionId: string) => {
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['x-tokenwarden-sub']).toBe(user.id);
    expect(res.headers['x-tokenwarden-sid']).toBe(sessionId);
    expect(res.headers['x-tokenwarden-role']).toBe('user');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toBe('');
  };
  const expectRefused = (res: LightMyRequestResponse, description: string) => {
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      `Bearer error="invalid_token", error_description="${description}"`,
    );
    expect(res.body).toBe('');
    expect(res.headers['x-tokenwarden-sub']).toBeUndefined();
  };

  it('answers 200 with the identity headers and no body for a valid access token', async () => {
    const user = await t.register('fwd-valid@example.com');
    const pair = await t.login(user.email);
    expectAllowed(await check({ token: pair.accessToken }), user, pair.sessionId);
  });

  it('answers 401 with the bare challenge and no body when no bearer token came', async () => {
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }]) {
      const res = await check({ headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="tokenwarden"');
      expect(res.body).toBe('');
      expect(res.headers['content-type']).toBeUndefined();
    }
  });

  it('answers 401 invalid_token for a malformed or forged token', async () => {
    expectRefused(await check({ headers: { authorization: 'Bearer not a token' } }), 'unauthorized');
    expectRefused(await check({ token: 'eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl' }), 'token_invalid');
  });

  it('answers any method and any path below it, and never reads a body', async () => {
    const user = await t.register('fwd-methods@example.com');
    const pair = await t.login(user.email);
    const methods: InjectOptions['method'][] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
    for (const method of methods) {
      // Envoy appends the original path to the prefix: `/` included.
      for (const url of [FORWARD_AUTH, `${FORWARD_AUTH}/`, `${FORWARD_AUTH}/orders/42?page=2`]) {
        expectAllowed(await check({ method, url, token: pair.accessToken }), user, pair.sessionId);
      }
    }
    // Bodies of any type and size, malformed ones included: 200, never 400, 413 or 415.
    for (const [type, payload] of [
      ['application/json', '{"a":'],
      ['application/xml', '<a/>'],
      ['application/octet-stream', Buffer.alloc(2 * 1024 * 1024, 1)],
    ] as const) {
      const res = await check({
        method: 'POST',
        url: `${FORWARD_AUTH}/upload`,
        token: pair.accessToken,
        headers: { 'content-type': type },
        payload,
      });
      expectAllowed(res, user, pair.sessionId);
    }
    // Without a token, the same for every method and path: 401.
    expect((await check({ method: 'DELETE', url: `${FORWARD_AUTH}/a/b` })).statusCode).toBe(401);
  });

  it('refuses on the very next check after a user rotation, a logout, a disable and a global rotation', async () => {
    const rotated = await t.register('fwd-rotated@example.com');
    const rotatedPair = await t.login(rotated.email);
    expectAllowed(await check({ token: rotatedPair.accessToken }), rotated, rotatedPair.sessionId);
    const rotation = await t.request('POST', '/api/v1/users/me/rotations', {
      token: rotatedPair.accessToken,
      body: {},
    });
    expect(rotation.statusCode, rotation.body).toBe(201);
    expectRefused(await check({ token: rotatedPair.accessToken }), 'token_rotated');

    const loggedOut = await t.register('fwd-logged-out@example.com');
    const loggedOutPair = await t.login(loggedOut.email);
    expectAllowed(await check({ token: loggedOutPair.accessToken }), loggedOut, loggedOutPair.sessionId);
    const logout = await t.request('DELETE', '/api/v1/sessions/current', {
      token: loggedOutPair.accessToken,
    });
    expect(logout.statusCode).toBe(204);
    expectRefused(await check({ token: loggedOutPair.accessToken }), 'token_revoked');

    const disabled = await t.register('fwd-disabled@example.com');
    const disabledPair = await t.login(disabled.email);
    expectAllowed(await check({ token: disabledPair.accessToken }), disabled, disabledPair.sessionId);
    const disable = await t.tw.services.disableUser.handle(
      DisableUser({ userId: disabled.id, actor: 'cli:operator', reason: 'compromised' }),
    );
    expect(disable.ok).toBe(true);
    expectRefused(await check({ token: disabledPair.accessToken }), 'token_revoked');

    const everyone = await t.register('fwd-everyone@example.com');
    const everyonePair = await t.login(everyone.email);
    expectAllowed(await check({ token: everyonePair.accessToken }), everyone, everyonePair.sessionId);
    const global = await t.request('POST', '/api/v1/admin/security/rotations', {
      token: await t.adminToken(),
      body: { reason: 'forward-auth test', gracePeriodSeconds: 0 },
    });
    expect(global.statusCode, global.body).toBe(201);
    expectRefused(await check({ token: everyonePair.accessToken }), 'token_rotated');
  });

  it('requires the role the gateway names (query or header): 403 insufficient_scope for another', async () => {
    const user = await t.register('fwd-role@example.com');
    const pair = await t.login(user.email);
    const admin = await t.adminToken();
    for (const required of [
      { query: { role: 'admin' } },
      { headers: { 'x-tokenwarden-require-role': 'admin' } },
    ]) {
      const refused = await check({ ...required, token: pair.accessToken });
      expect(refused.statusCode).toBe(403);
      expect(refused.headers['www-authenticate']).toBe(
        'Bearer realm="tokenwarden", error="insufficient_scope", error_description="the admin role is required"',
      );
      expect(refused.body).toBe('');
      expect(refused.headers['x-tokenwarden-sub']).toBeUndefined();
      const allowed = await check({ ...required, token: admin });
      expect(allowed.statusCode).toBe(200);
      expect(allowed.headers['x-tokenwarden-role']).toBe('admin');
    }
    // The role is checked after the token: no token is still 401.
    expect((await check({ query: { role: 'admin' } })).statusCode).toBe(401);
    // Both named: both must hold (a client's own `?role=` can only narrow, never widen).
    const both = await check({
      query: { role: 'user' },
      headers: { 'x-tokenwarden-require-role': 'admin' },
      token: pair.accessToken,
    });
    expect(both.statusCode).toBe(403);
    expectAllowed(await check({ query: { role: 'user' }, token: pair.accessToken }), user, pair.sessionId);
  });

  it('answers 422 with no body for a role that is not one (a misconfigured gateway)', async () => {
    const user = await t.register('fwd-bad-role@example.com');
    const pair = await t.login(user.email);
    for (const required of [
      { query: { role: 'root' } },
      { headers: { 'x-tokenwarden-require-role': 'Admin' } },
    ]) {
      const res = await check({ ...required, token: pair.accessToken });
      expect(res.statusCode).toBe(422);
      expect(res.body).toBe('');
    }
  });

  it('refuses a path or query it cannot read: 422 with no body for NUL, 400 for a malformed escape', async () => {
    const user = await t.register('fwd-bad-path@example.com');
    const pair = await t.login(user.email);
    for (const url of [`${FORWARD_AUTH}/a%00b`, `${FORWARD_AUTH}?x=%00`]) {
      const res = await check({ url, token: pair.accessToken });
      expect(res.statusCode, url).toBe(422);
      expect(res.body, url).toBe('');
    }
    // The router refuses it before any route, in the one format it knows.
    const malformed = await check({ url: `${FORWARD_AUTH}/%E0%A4%A`, token: pair.accessToken });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers['x-tokenwarden-sub']).toBeUndefined();
  });

  it('takes nothing from X-Forwarded-* or client-sent identity headers', async () => {
    const user = await t.register('fwd-forged@example.com');
    const pair = await t.login(user.email);
    const res = await check({
      token: pair.accessToken,
      headers: {
        'x-tokenwarden-sub': '00000000-0000-4000-8000-000000000000',
        'x-tokenwarden-role': 'admin',
        'x-forwarded-for': '10.0.0.1',
        'x-forwarded-uri': '/admin',
        'x-forwarded-method': 'DELETE',
      },
    });
    expectAllowed(res, user, pair.sessionId);
    expect(
      (await check({ headers: { 'x-tokenwarden-sub': user.id, 'x-tokenwarden-role': 'admin' } })).statusCode,
    ).toBe(401);
  });

  it('is not rate limited per address: a gateway sends every client through one', async () => {
    const user = await t.register('fwd-limit@example.com');
    const pair = await t.login(user.email);
    const statuses = new Set<number>();
    // More than either per-address budget of this app (40 credential checks, 5 refreshes).
    for (let i = 0; i < 60; i++) statuses.add((await check({ token: pair.accessToken })).statusCode);
    expect([...statuses]).toEqual([200]);
  });
});
