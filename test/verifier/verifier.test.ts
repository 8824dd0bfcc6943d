import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AccessTokenClaims,
  createVerifier,
  tokenwardenExpress,
  tokenwardenFastify,
  type Verifier,
} from '@tokenwarden/verifier';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DisableUser } from '../../src/application/commands/disable-user/command.js';
import { createTokenwarden, type DatabaseHandle, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { testDatabases } from '../support/databases.js';
import {
  call,
  createScratchDatabase,
  freePort,
  type Instance,
  login,
  register,
  revoke,
  type ScratchDatabase,
  startInstance,
} from '../support/instances.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_ENV } from '../support/test-app.js';

declare module 'fastify' {
  interface FastifyRequest {
    tokenwarden: AccessTokenClaims | null;
  }
}

const ENV = { ...TEST_ENV, TOKENWARDEN_FEED_HEARTBEAT_SECONDS: '1' };
/** Real time: the verifier checks `exp` and the grace window against this machine's clock. */
const realClock = { now: () => new Date() };

/** tokenwarden listening on a fixed port, so it can be stopped and started again at the same address. */
async function startAt(database: DatabaseHandle, port: number): Promise<Tokenwarden> {
  const tw = await createTokenwarden(loadConfig(ENV), {
    clock: realClock,
    database,
    logger: false,
    defaultMetrics: false,
  });
  await tw.app.listen({ host: '127.0.0.1', port });
  return tw;
}

async function fastifyDownstream(verifier: Verifier): Promise<{ app: FastifyInstance; base: string }> {
  const app = Fastify();
  await app.register(async (api) => {
    await api.register(tokenwardenFastify(verifier));
    api.get('/whoami', async (request) => ({ sub: request.tokenwarden?.sub, sid: request.tokenwarden?.sid }));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

async function expressDownstream(verifier: Verifier): Promise<{ server: Server; base: string }> {
  const app = express();
  app.use(tokenwardenExpress(verifier));
  app.get('/whoami', (req, res) => {
    res.json({ sub: req.tokenwarden?.sub, sid: req.tokenwarden?.sid });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly contentType: string | null;
  readonly challenge: string | null;
}

async function whoami(base: string, token?: string): Promise<Answer> {
  const res = await fetch(`${base}/whoami`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(5_000),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    contentType: res.headers.get('content-type'),
    challenge: res.headers.get('www-authenticate'),
  };
}

/** Polls until `base` refuses `token`; the refusal and how long it took. */
async function untilRefused(
  base: string,
  token: string,
  timeoutMs: number,
): Promise<Answer & { ms: number }> {
  const start = performance.now();
  for (;;) {
    const answer = await whoami(base, token);
    const ms = performance.now() - start;
    if (answer.status === 401) return { ...answer, ms };
    if (ms > timeoutMs) throw new Error(`still accepted after ${Math.round(ms)} ms`);
    await sleep(20);
  }
}

describe.each(testDatabases())('the verifier downstream of a listening tokenwarden on $name', (target) => {
  let database: DatabaseHandle;
  let port = 0;
  let tw: Tokenwarden | undefined;
  let base = '';
  let verifier: Verifier;
  let fastifyApp: { app: FastifyInstance; base: string };
  let expressApp: { server: Server; base: string };
  let clientId = '';
  let clientSecret = '';
  let n = 0;
  /** The verifier's clock runs this many ms ahead of real time: tests move it instead of sleeping. */
  let skewMs = 0;
  const verifierNow = () => Date.now() + skewMs;

  const admin = () => login(base, ADMIN_EMAIL, ADMIN_PASSWORD);
  const newUser = async () => {
    const email = `verifier-${target.name}-${++n}@example.com`;
    const userId = await register(base, email);
    return { userId, token: await login(base, email) };
  };

  beforeAll(async () => {
    database = await target.create();
    port = await freePort();
    tw = await startAt(database, port);
    base = `http://127.0.0.1:${port}`;
    const created = await call(base, 'POST', '/api/v1/admin/service-clients', {
      token: await admin(),
      body: { name: 'orders-api' },
    });
    expect(created.status).toBe(201);
    clientId = created.body.id as string;
    clientSecret = created.body.secret as string;
    // The issuer a service configures: the one the server's OAuth metadata names.
    const metadata = await fetch(`${base}/.well-known/oauth-authorization-server`);
    const { issuer } = (await metadata.json()) as { issuer: string };
    verifier = createVerifier({
      baseUrl: base,
      audience: 'tokenwarden',
      issuer,
      clientId,
      clientSecret,
      maxStalenessSeconds: 2,
      now: verifierNow,
    });
    await verifier.ready();
    fastifyApp = await fastifyDownstream(verifier);
    expressApp = await expressDownstream(verifier);
  }, 120_000); // a migrated PGlite on a loaded two-core machine can take most of a minute

  afterAll(async () => {
    await verifier?.close();
    await fastifyApp?.app.close();
    await new Promise((resolve) => expressApp?.server.close(resolve) ?? resolve(undefined));
    await tw?.close();
    await database?.close();
  }, 30_000);

  const downstreams = () => [fastifyApp.base, expressApp.base];

  it('accepts a valid token with its claims, and answers 401 problem+json without or with a bad token', async () => {
    const { userId, token } = await newUser();
    for (const downstream of downstreams()) {
      const ok = await whoami(downstream, token);
      expect(ok.status).toBe(200);
      expect(ok.body.sub).toBe(userId);
      const none = await whoami(downstream);
      expect(none.status).toBe(401);
      expect(none.contentType).toContain('application/problem+json');
      expect(none.challenge).toBe('Bearer');
      expect(none.body).toMatchObject({ status: 401, code: 'unauthorized' });
      const at = token.lastIndexOf('.') + 1; // the signature's first character: never a padding bit
      const bad = await whoami(
        downstream,
        `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`,
      );
      expect(bad.status).toBe(401);
      expect(bad.challenge).toContain('error="invalid_token"');
      expect(bad.body).toMatchObject({ status: 401, code: 'token_invalid', title: 'Token invalid' });
    }
  });

  const changes: [
    string,
    (user: { userId: string; token: string }) => Promise<void>,
    Record<string, unknown>,
  ][] = [
    [
      'a user rotation',
      async ({ userId }) => {
        const res = await call(base, 'POST', `/api/v1/admin/users/${userId}/rotations`, {
          token: await admin(),
          body: { reason: 'verifier test' },
        });
        expect(res.status).toBe(201);
      },
      { code: 'token_rotated', rejection: 'user_rotation' },
    ],
    [
      'a logout',
      async ({ token }) => {
        expect((await call(base, 'DELETE', '/api/v1/sessions/current', { token })).status).toBe(204);
      },
      { code: 'token_revoked' },
    ],
    [
      'the user disabled',
      async ({ userId }) => {
        const result = await tw!.services.disableUser.handle(
          DisableUser({ userId, actor: 'system', reason: 'verifier test' }),
        );
        expect(result.ok).toBe(true);
      },
      { code: 'token_revoked' },
    ],
    [
      'a global rotation with grace 0',
      async () => {
        const res = await call(base, 'POST', '/api/v1/admin/security/rotations', {
          token: await admin(),
          body: { reason: 'verifier test', gracePeriodSeconds: 0 },
        });
        expect(res.status).toBe(201);
      },
      { code: 'token_rotated', rejection: 'global_rotation' },
    ],
    [
      'the signing key retired',
      async ({ token }) => {
        const { kid } = decodeProtectedHeader(token);
        const res = await call(base, 'POST', `/api/v1/admin/signing-keys/${kid}/retirement`, {
          token: await admin(),
          body: { reason: 'verifier test', replace: true },
        });
        expect(res.status).toBe(200);
      },
      { code: 'token_revoked' },
    ],
  ];

  it.each(changes)('refuses a token downstream within 1 s after %s', async (_name, change, expected) => {
    const user = await newUser();
    for (const downstream of downstreams())
      expect((await whoami(downstream, user.token)).body).toHaveProperty('sub');
    await change(user);
    for (const downstream of downstreams()) {
      const refused = await untilRefused(downstream, user.token, 1_000);
      expect(refused.ms).toBeLessThan(1_000);
      expect(refused.body).toMatchObject({ status: 401, ...expected });
      expect(refused.challenge).toContain('error="invalid_token"');
    }
    // A token issued after the change is accepted.
    const fresh = await newUser();
    for (const downstream of downstreams()) expect((await whoami(downstream, fresh.token)).status).toBe(200);
  });

  it('memoises a verified token (cost printed, not asserted)', async () => {
    const { token } = await newUser();
    expect((await verifier.verify(token)).ok).toBe(true);
    const rounds = 20_000;
    const start = performance.now();
    for (let i = 0; i < rounds; i++) await verifier.verify(token);
    const micros = ((performance.now() - start) * 1000) / rounds;
    console.log(`verifier: a token seen before costs ${micros.toFixed(2)} µs per verify (${rounds} rounds)`);
    expect((await verifier.verify(token)).ok).toBe(true);
  });

  it('refuses tokens once maxStalenessSeconds pass by its clock with the feed server stopped, and recovers after the restart with a rotation made meanwhile', async () => {
    const kept = await newUser();
    const rotated = await newUser();
    expect((await whoami(fastifyApp.base, rotated.token)).status).toBe(200);
    const adminToken = await admin();
    await tw?.close();
    tw = undefined;
    // A rotation made while the feed's server is down (by an instance that does not listen).
    const offline = await createTokenwarden(loadConfig(ENV), {
      clock: realClock,
      database,
      logger: false,
      defaultMetrics: false,
    });
    const rotation = await offline.app.inject({
      method: 'POST',
      url: `/api/v1/admin/users/${rotated.userId}/rotations`,
      headers: { authorization: `Bearer ${adminToken}` },
      payload: { reason: 'during the outage' },
    });
    expect(rotation.statusCode).toBe(201);
    await offline.close();

    try {
      // Nothing can be heard now. 1.5 s after the last event (by the verifier's clock) it still
      // trusts its state; 2.5 s after, past the 2 s bound, it refuses: no sleeping through either.
      const since = verifier.status().msSinceLastEvent ?? 0;
      skewMs += 1_500 - since;
      expect(verifier.status().fresh).toBe(true);
      expect(await verifier.verify(kept.token)).toMatchObject({ ok: true });
      skewMs += 1_000;
      expect(await verifier.verify(kept.token)).toMatchObject({ ok: false, code: 'feed_stale' });
      for (const downstream of downstreams()) {
        expect((await whoami(downstream, kept.token)).body).toMatchObject({
          status: 401,
          code: 'feed_stale',
        });
      }
      expect(verifier.status().fresh).toBe(false);

      tw = await startAt(database, port);
      await expect.poll(() => verifier.status().fresh, { timeout: 15_000, interval: 50 }).toBe(true);
      for (const downstream of downstreams()) {
        expect((await whoami(downstream, kept.token)).status).toBe(200);
        expect((await whoami(downstream, rotated.token)).body).toMatchObject({
          code: 'token_rotated',
          rejection: 'user_rotation',
        });
      }
    } finally {
      skewMs = 0;
    }
  }, 40_000);

  it('judges exp by its own clock: a token is expired once the clock passes exp, seen before or not', async () => {
    // Each jump of the clock leaves the feed silent by that clock: wait for the next heartbeat
    // (1 s; on a loaded machine the 2 s bound can pass by real time too).
    const jumpTo = async (at: number) => {
      skewMs = at - Date.now();
      await expect.poll(() => verifier.status().fresh, { timeout: 15_000, interval: 50 }).toBe(true);
    };
    const { token } = await newUser();
    await jumpTo(Date.now());
    const claims = await verifier.verify(token);
    expect(claims).toMatchObject({ ok: true });
    const exp = claims.ok ? claims.claims.exp : 0;
    try {
      await jumpTo(exp * 1000 - 60_000);
      expect(await verifier.verify(token)).toMatchObject({ ok: true });
      await jumpTo(exp * 1000 + 1_000);
      expect(await verifier.verify(token)).toMatchObject({ ok: false, code: 'token_expired' });
      // A token it has not seen is checked by jose with the same clock.
      const unseen = await newUser();
      await jumpTo(Date.now() + 901_000);
      expect(await verifier.verify(unseen.token)).toMatchObject({ ok: false, code: 'token_expired' });
    } finally {
      skewMs = 0;
    }
    await jumpTo(Date.now());
    expect(await verifier.verify(token)).toMatchObject({ ok: true });
  }, 40_000);

  it("with onStale 'introspect', asks the server per request while its feed is cut: active tokens pass, a logged-out one is refused, and an unreachable server still fails closed", async () => {
    // The feed is cut by the verifier's own fetch: its stream errors and reconnects are refused,
    // while the server (and its introspection endpoint) keeps answering.
    let cut = false;
    let introspections = 0;
    let introspectionDown = false;
    const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
    const gated: typeof fetch = async (input, init) => {
      const url = String(input);
      if (url.includes('/oauth/introspect')) {
        introspections++;
        if (introspectionDown) throw new TypeError('fetch failed');
      }
      if (cut && url.includes('/api/v1/revocations')) throw new TypeError('fetch failed');
      const res = await fetch(input, init);
      if (!url.includes('/revocations/stream') || res.body === null) return res;
      const reader = res.body.getReader();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          streams.add(controller);
        },
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as {
      issuer: string;
    };
    const fallback = createVerifier({
      baseUrl: base,
      audience: 'tokenwarden',
      issuer: metadata.issuer,
      clientId,
      clientSecret,
      maxStalenessSeconds: 2,
      onStale: 'introspect',
      fetch: gated,
    });
    try {
      await fallback.ready();
      const kept = await newUser();
      const out = await newUser();
      expect(await fallback.verify(kept.token)).toMatchObject({ ok: true });
      expect(introspections).toBe(0);
      cut = true;
      for (const controller of streams) controller.error(new Error('feed cut'));
      await expect.poll(() => fallback.status().fresh, { timeout: 15_000, interval: 50 }).toBe(false);

      expect(await fallback.verify(kept.token)).toMatchObject({ ok: true, claims: { sub: kept.userId } });
      expect(await fallback.verify(out.token)).toMatchObject({ ok: true });
      expect(introspections).toBe(2);
      // A logout the cut feed cannot carry: introspection knows.
      expect((await call(base, 'DELETE', '/api/v1/sessions/current', { token: out.token })).status).toBe(204);
      expect(await fallback.verify(out.token)).toMatchObject({ ok: false, code: 'token_revoked' });
      expect(await fallback.verify('not-a-jwt')).toMatchObject({ ok: false, code: 'token_invalid' });
      // Introspection unreachable too: refused, never accepted blind.
      introspectionDown = true;
      expect(await fallback.verify(kept.token)).toMatchObject({ ok: false, code: 'feed_stale' });
      introspectionDown = false;

      // The feed back: fresh again, and no more introspection per request.
      cut = false;
      await expect.poll(() => fallback.status().fresh, { timeout: 30_000, interval: 50 }).toBe(true);
      const before = introspections;
      expect(await fallback.verify(kept.token)).toMatchObject({ ok: true });
      expect(await fallback.verify(out.token)).toMatchObject({ ok: false, code: 'token_revoked' });
      expect(introspections).toBe(before);
    } finally {
      await fallback.close();
    }
  }, 60_000);

  it('never becomes ready with wrong client credentials, and refuses every token', async () => {
    const { token } = await newUser();
    const wrong = createVerifier({
      baseUrl: base,
      audience: 'tokenwarden',
      clientId,
      clientSecret: `${clientSecret}x`,
      maxStalenessSeconds: 2,
    });
    try {
      await expect(wrong.ready()).rejects.toThrow(/401/);
      expect(await wrong.verify(token)).toMatchObject({ ok: false, code: 'feed_stale' });
      expect(wrong.status()).toMatchObject({ fresh: false, lastError: expect.stringContaining('401') });
    } finally {
      await wrong.close();
    }
  });
});

const DATABASE_URL = process.env.DATABASE_URL ?? '';

describe.skipIf(DATABASE_URL === '')('the verifier across two instances on PostgreSQL', () => {
  let database: ScratchDatabase | undefined;
  let a: Instance | undefined;
  let b: Instance | undefined;
  let verifier: Verifier | undefined;
  let downstream: { app: FastifyInstance; base: string } | undefined;

  beforeAll(async () => {
    database = await createScratchDatabase(DATABASE_URL);
    const env = { DATABASE_URL: database.url, DATABASE_POOL_SIZE: '4' };
    // Started together: migrations take an advisory lock and the admin bootstrap settles a
    // concurrent start, so two processes on one empty database are safe (and a start is seconds).
    // Each kept as soon as it is up, so afterAll stops it even if the other failed.
    const [startedA, startedB] = await Promise.all([
      startInstance('verifier-a', env).then((i) => {
        a = i;
        return i;
      }),
      startInstance('verifier-b', env).then((i) => {
        b = i;
        return i;
      }),
    ]);
    const created = await call(startedA.base, 'POST', '/api/v1/admin/service-clients', {
      token: await login(startedA.base, ADMIN_EMAIL, ADMIN_PASSWORD),
      body: { name: 'orders-api' },
    });
    expect(created.status).toBe(201);
    // The verifier follows B's feed; the changes are made on A.
    verifier = createVerifier({
      baseUrl: startedB.base,
      audience: 'tokenwarden',
      clientId: created.body.id as string,
      clientSecret: created.body.secret as string,
    });
    await verifier.ready();
    downstream = await fastifyDownstream(verifier);
  }, 60_000);
  afterAll(async () => {
    await verifier?.close();
    await downstream?.app.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  }, 30_000);

  it.each(['user', 'logout', 'global'] as const)(
    'refuses downstream within 1 s a token whose %s change was made on the other instance',
    async (kind) => {
      const baseA = a?.base ?? '';
      const email = `two-${kind}@example.com`;
      const userId = await register(baseA, email);
      const token = await login(baseA, email);
      const base = downstream?.base ?? '';
      expect((await whoami(base, token)).status).toBe(200);
      await revoke(baseA, kind, token, userId);
      const refused = await untilRefused(base, token, 1_000);
      expect(refused.ms).toBeLessThan(1_000);
    },
  );
});
