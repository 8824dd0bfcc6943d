import { createHash, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenwarden, loggerOptions } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { TokenwardenError } from '../../src/domain/errors.js';
import { authGuards } from '../../src/http/auth.js';
import { sendProblem } from '../../src/http/problem.js';
import { testDatabases } from '../support/databases.js';
import { captureLogs } from '../support/log-capture.js';
import { ManualClock } from '../support/manual-clock.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_ENV, type TestApp, useTestApp } from '../support/test-app.js';

const basic = (clientId: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/**
 * A test-only app with two routes behind the service-client guards, the way the
 * revocation feed will use them; failures answer through the same problem writer.
 */
async function guardedProbe(t: TestApp): Promise<FastifyInstance> {
  const guards = authGuards(t.tw.services);
  const probe = Fastify({ logger: false });
  probe.decorateRequest('principal', null);
  probe.decorateRequest('serviceClient', null);
  probe.setErrorHandler((error, _request, reply) => {
    if (error instanceof TokenwardenError) return sendProblem(reply, error);
    return reply.code(500).send({ unexpected: String(error) });
  });
  probe.get('/client-only', { preHandler: guards.requireServiceClient }, async (request) => ({
    client: request.serviceClient,
  }));
  probe.get('/client-or-admin', { preHandler: guards.requireServiceClientOrAdmin }, async (request) => ({
    client: request.serviceClient,
    admin: request.principal?.userId ?? null,
  }));
  await probe.ready();
  return probe;
}

describe.each(testDatabases())('service clients on $name', (target) => {
  const t = useTestApp(target);
  let probe: FastifyInstance;
  beforeAll(async () => {
    probe = await guardedProbe(t);
  });
  afterAll(async () => {
    await probe?.close();
  });
  const viaProbe = (url: string, authorization?: string) =>
    probe.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });
  const create = async (name: string) => {
    const res = await t.request('POST', '/api/v1/admin/service-clients', {
      token: await t.adminToken(),
      body: { name },
    });
    expect(res.statusCode).toBe(201);
    return res.json() as { id: string; name: string; secret: string; createdAt: string };
  };

  it('creates a client whose secret, shown once and not cached, passes the guard', async () => {
    const res = await t.request('POST', '/api/v1/admin/service-clients', {
      token: await t.adminToken(),
      body: { name: 'orders-api' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const created = res.json();
    expect(Object.keys(created).sort()).toEqual(['createdAt', 'id', 'name', 'secret']);
    expect(created).toMatchObject({
      name: 'orders-api',
      secret: expect.stringMatching(/^twc_[A-Za-z0-9_-]{43}$/),
    });

    const ok = await viaProbe('/client-only', basic(created.id, created.secret));
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ client: { clientId: created.id, name: 'orders-api' } });

    // client_secret_basic form-urlencodes both parts: an escaped id still names the client.
    const escapedId = created.id.replaceAll('-', '%2D');
    const encoded = `Basic ${Buffer.from(`${escapedId}:${created.secret}`).toString('base64')}`;
    expect((await viaProbe('/client-only', encoded)).statusCode).toBe(200);
  });

  it('refuses a wrong secret, an unknown id, a missing or bearer header with 401 and a Basic challenge', async () => {
    const { id, secret } = await create('refused-api');
    const answers = [
      await viaProbe('/client-only', basic(id, `${secret.slice(0, -1)}${secret.endsWith('x') ? 'y' : 'x'}`)),
      await viaProbe('/client-only', basic(randomUUID(), secret)),
      await viaProbe('/client-only', basic('not-a-uuid', secret)),
      await viaProbe('/client-only', `Basic ${Buffer.from(`${id}${secret}`).toString('base64')}`),
      await viaProbe('/client-only', 'Basic %%%'),
      await viaProbe('/client-only'),
      await viaProbe('/client-only', `Bearer ${await t.adminToken()}`),
    ];
    for (const res of answers) {
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers['www-authenticate']).toBe('Basic realm="tokenwarden"');
      expect(res.json()).toMatchObject({ code: 'unauthorized' });
    }
    // A wrong secret and an unknown id read the same.
    expect(answers[1]?.json()).toEqual(answers[0]?.json());
  });

  it('revokes a client: its secret stops at once; revoking again answers the same; unknown ids 404', async () => {
    const { id, secret } = await create('revoked-api');
    const token = await t.adminToken();
    expect((await viaProbe('/client-only', basic(id, secret))).statusCode).toBe(200);
    const revoked = await t.request('POST', `/api/v1/admin/service-clients/${id}/revocation`, {
      token,
      body: { reason: 'secret leaked' },
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ id, name: 'revoked-api', revokedAt: expect.any(String) });
    const refused = await viaProbe('/client-only', basic(id, secret));
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Basic realm="tokenwarden"');

    const again = await t.request('POST', `/api/v1/admin/service-clients/${id}/revocation`, { token });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(revoked.json());

    for (const unknown of [randomUUID(), 'nope']) {
      const res = await t.request('POST', `/api/v1/admin/service-clients/${unknown}/revocation`, { token });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'service_client_not_found' });
    }
  });

  it('lists clients, revoked ones too, never with a secret or its hash', async () => {
    const created = await create('listed-api');
    const token = await t.adminToken();
    const items: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.request(
        'GET',
        `/api/v1/admin/service-clients?limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
        { token },
      );
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain(created.secret);
      expect(res.body).not.toContain(createHash('sha256').update(created.secret).digest('hex'));
      expect(res.body).not.toMatch(/secret|hash/i);
      const page = res.json();
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(items.find((item) => item.id === created.id)).toEqual({
      id: created.id,
      name: 'listed-api',
      createdAt: created.createdAt,
      createdBy: expect.any(String),
      revokedAt: null,
      revokedBy: null,
    });
    expect(items.some((item) => item.revokedAt !== null)).toBe(true);
    const bad = await t.request('GET', '/api/v1/admin/service-clients?cursor=bogus', { token });
    expect(bad.statusCode).toBe(422);
  });

  it('is admin only: 401 without a token, 403 for a user', async () => {
    await t.register('not-an-admin@example.com');
    const user = (await t.login('not-an-admin@example.com')).accessToken;
    const { id } = await create('guarded-api');
    const routes = [
      ['POST', '/api/v1/admin/service-clients', { name: 'sneaky' }],
      ['GET', '/api/v1/admin/service-clients', undefined],
      ['POST', `/api/v1/admin/service-clients/${id}/revocation`, {}],
    ] as const;
    for (const [method, url, body] of routes) {
      expect((await t.request(method, url, { body })).statusCode).toBe(401);
      const forbidden = await t.request(method, url, { body, token: user });
      expect(forbidden.statusCode).toBe(403);
      expect(forbidden.json()).toMatchObject({ code: 'forbidden' });
    }
  });

  it.each([
    ['an empty name', ''],
    ['a blank name', '   '],
    ['a name over 100 characters', 'n'.repeat(101)],
    ['a NUL', 'orders\u0000api'],
    ['an ESC', 'orders\u001b]0;owned\u0007'],
    ['a right-to-left override', 'orders\u202eipa'],
  ])('refuses %s with 422 validation_failed', async (_what, name) => {
    const res = await t.request('POST', '/api/v1/admin/service-clients', {
      token: await t.adminToken(),
      body: { name },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'validation_failed' });
  });

  it('lets a service client or an admin through the combined guard, and no one else', async () => {
    const { id, secret } = await create('feed-reader');
    const asClient = await viaProbe('/client-or-admin', basic(id, secret));
    expect(asClient.statusCode).toBe(200);
    expect(asClient.json()).toEqual({ client: { clientId: id, name: 'feed-reader' }, admin: null });

    const asAdmin = await viaProbe('/client-or-admin', `Bearer ${await t.adminToken()}`);
    expect(asAdmin.statusCode).toBe(200);
    expect(asAdmin.json()).toMatchObject({ client: null, admin: expect.any(String) });

    await t.register('feed-user@example.com');
    const asUser = await viaProbe(
      '/client-or-admin',
      `Bearer ${(await t.login('feed-user@example.com')).accessToken}`,
    );
    expect(asUser.statusCode).toBe(403);

    const wrong = await viaProbe('/client-or-admin', basic(id, 'twc_wrong'));
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="tokenwarden"');

    const none = await viaProbe('/client-or-admin');
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toEqual([
      'Basic realm="tokenwarden"',
      'Bearer realm="tokenwarden"',
    ]);
  });
});

describe.each(testDatabases())('service-client secrets stay out of the logs on $name', (target) => {
  it('logs no secret at trace level through create, authenticate and a wrong attempt', async () => {
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
      await tw.app.ready();
      const login = await tw.app.inject({
        method: 'POST',
        url: '/api/v1/sessions',
        payload: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
      });
      const created = await tw.app.inject({
        method: 'POST',
        url: '/api/v1/admin/service-clients',
        headers: { authorization: `Bearer ${login.json().accessToken}` },
        payload: { name: 'logged-api' },
      });
      expect(created.statusCode).toBe(201);
      const { id, secret } = created.json() as { id: string; secret: string };
      expect(okOf(await tw.services.authenticateServiceClient.execute(id, secret))).toBe(true);
      expect(okOf(await tw.services.authenticateServiceClient.execute(id, `${secret}x`))).toBe(false);
      expect(lines.length).toBeGreaterThan(0);
      const logged = lines.join('');
      expect(logged).not.toContain(secret.slice(4));
      expect(logged).not.toContain(createHash('sha256').update(secret).digest('hex'));
    } finally {
      await tw.close();
      await database.close();
    }
  });
});

const okOf = (result: { readonly ok: boolean }) => result.ok;
