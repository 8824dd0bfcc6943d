import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from './verifier.js';

type Mode = 'reading' | 'stuck' | 'ahead' | 'down' | 'refusing';

const KEY = generateKeyPairSync('ed25519');
const JWK = {
  ...createPublicKey(KEY.privateKey).export({ format: 'jwk' }),
  kid: 'k1',
  alg: 'EdDSA',
  use: 'sig',
};
/** User u1 was rotated to version 2 inside the window; the global version is 1. */
const USER_CHANGE = {
  seq: 10,
  kind: 'user_version',
  userId: 'u1',
  sessionId: null,
  kid: null,
  details: { minTokenVersion: 2 },
  occurredAt: new Date().toISOString(),
};

/** An access token signed with the feed's key: whoever holds it can sign anything. */
function token(claims: Record<string, unknown>): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const iat = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' })}.${b64({
    aud: 'test',
    sub: 'u1',
    sid: 's1',
    jti: `j${Math.random()}`,
    role: 'user',
    iat,
    exp: iat + 900,
    ver: 2,
    gver: 1,
    ...claims,
  })}`;
  return `${input}.${sign(null, Buffer.from(input), KEY.privateKey).toString('base64url')}`;
}

/** A feed server whose heartbeats keep coming every 100 ms, proving a read or not as `mode` says. */
async function fakeFeed(mode: () => Mode): Promise<{ server: Server; base: string; beats: () => number }> {
  let beats = 0;
  const state = { globalMinTokenVersion: 1, graceUntil: null, gracePeriodSeconds: 0, signingKeys: [] };
  const server = createServer((req, res) => {
    if (mode() === 'down') {
      res.writeHead(503).end();
      return;
    }
    if (mode() === 'refusing' && req.url?.startsWith('/api/v1/revocations')) {
      res.writeHead(401, { 'www-authenticate': 'Basic' }).end();
      return;
    }
    if (req.url?.startsWith('/api/v1/revocations/stream')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const stuckAt = new Date().toISOString();
      res.write(`event: state\ndata: ${JSON.stringify({ ...state, lastSeq: 10, readAt: stuckAt })}\n\n`);
      const timer = setInterval(() => {
        beats++;
        const m = mode();
        const beat = {
          lastSeq: m === 'ahead' ? 12 : 10,
          readAt: m === 'stuck' ? stuckAt : new Date().toISOString(),
        };
        res.write(`event: heartbeat\ndata: ${JSON.stringify(beat)}\n\n`);
      }, 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [JWK] }));
      return;
    }
    if (req.url?.startsWith('/api/v1/revocations')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const after = Number(new URL(req.url, 'http://x').searchParams.get('after') ?? 0);
      res.end(
        JSON.stringify({
          state,
          changes: after < 10 ? [USER_CHANGE] : [],
          lastSeq: 10,
          hasMore: false,
          headSeq: 10,
          accessTokenTtlSeconds: 900,
        }),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, beats: () => beats };
}

describe('the verifier judges freshness by proofs of a read, not by bytes arriving', () => {
  let verifier: Verifier | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await verifier?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it.each([
    ['a stuck read time', 'stuck'],
    ['a head ahead of what it applied (changes it was never sent)', 'ahead'],
  ] as const)('goes stale within maxStalenessSeconds on heartbeats with %s', async (_what, bad) => {
    let mode: Mode = 'reading';
    const feed = await fakeFeed(() => mode);
    server = feed.server;
    verifier = createVerifier({
      baseUrl: feed.base,
      audience: 'test',
      clientId: 'c',
      clientSecret: 's',
      maxStalenessSeconds: 1,
    });
    await verifier.ready();
    // Reading: fresh past the bound.
    await sleep(1_300);
    expect(verifier.status().fresh).toBe(true);
    mode = bad;
    const from = Date.now();
    const beatsBefore = feed.beats();
    while (verifier.status().fresh && Date.now() - from < 5_000) await sleep(20);
    const ms = Date.now() - from;
    expect(verifier.status().fresh).toBe(false);
    expect(ms).toBeLessThan(1_600);
    expect(feed.beats() - beatsBefore).toBeGreaterThan(5);
    expect(await verifier.verify('a.b.c')).toMatchObject({ ok: false, code: 'feed_stale' });
  });
});

describe("the verifier holds tokens to the issuer's bounds, as the server does", () => {
  let verifier: Verifier | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await verifier?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('refuses a token dated ahead, one outliving the TTL, and versions above what the feed showed', async () => {
    const feed = await fakeFeed(() => 'reading');
    server = feed.server;
    verifier = createVerifier({ baseUrl: feed.base, audience: 'test', clientId: 'c', clientSecret: 's' });
    await verifier.ready();
    const now = Math.floor(Date.now() / 1000);
    expect(await verifier.verify(token({}))).toMatchObject({ ok: true });
    expect(await verifier.verify(token({ iat: now + 20, exp: now + 20 + 900 }))).toMatchObject({ ok: true });
    expect(await verifier.verify(token({ iat: now + 600, exp: now + 600 + 900 }))).toMatchObject({
      ok: false,
      code: 'token_invalid',
    });
    expect(await verifier.verify(token({ exp: now + 901 }))).toMatchObject({
      ok: false,
      code: 'token_invalid',
    });
    expect(await verifier.verify(token({ gver: 2 }))).toMatchObject({ ok: false, code: 'feed_stale' });
    expect(await verifier.verify(token({ ver: 3 }))).toMatchObject({ ok: false, code: 'feed_stale' });
    // A user the window shows no change of: its version is unknown here, and not held against it.
    expect(await verifier.verify(token({ sub: 'u2', ver: 7 }))).toMatchObject({ ok: true });
  });
});

describe('the verifier says when it cannot start and when its freshness changes', () => {
  let verifier: Verifier | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await verifier?.close();
    verifier = undefined;
    server?.closeAllConnections();
    await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
    server = undefined;
  });

  it('rejects ready() past readyTimeoutSeconds with the cause when tokenwarden cannot be reached', async () => {
    // A port nothing listens on.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    verifier = createVerifier({
      baseUrl: `http://127.0.0.1:${port}`,
      audience: 'test',
      clientId: 'c',
      clientSecret: 's',
      readyTimeoutSeconds: 0.5,
    });
    const from = Date.now();
    const error = await verifier.ready().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(Date.now() - from).toBeLessThan(2_000);
    expect(error?.message).toMatch(/not caught up within 0.5 s: fetch failed: .*ECONNREFUSED/);
    expect(error?.cause).toBeInstanceOf(Error);
  });

  it('rejects ready() at once while the credentials are refused, and resolves once the feed accepts them', async () => {
    // A verifier started before its service client was registered (or with a secret fixed later on the server).
    let mode: Mode = 'refusing';
    const feed = await fakeFeed(() => mode);
    server = feed.server;
    verifier = createVerifier({ baseUrl: feed.base, audience: 'test', clientId: 'c', clientSecret: 's' });
    await expect(verifier.ready()).rejects.toThrow(/refused the client credentials \(401\)/);
    const from = Date.now();
    await expect(verifier.ready()).rejects.toThrow(/401/);
    expect(Date.now() - from).toBeLessThan(100);
    expect(await verifier.verify(token({}))).toMatchObject({ ok: false, code: 'feed_stale' });

    mode = 'reading';
    // The verifier keeps trying (backoff 250 ms, doubling) and a waiting ready() resolves on the catch-up.
    await expect
      .poll(
        () =>
          verifier?.ready().then(
            () => true,
            () => false,
          ),
        { timeout: 10_000 },
      )
      .toBe(true);
    await verifier.ready();
    expect(await verifier.verify(token({}))).toMatchObject({ ok: true });
  });

  it('rejects a ready() still waiting when the verifier is closed', async () => {
    const feed = await fakeFeed(() => 'down');
    server = feed.server;
    verifier = createVerifier({ baseUrl: feed.base, audience: 'test', clientId: 'c', clientSecret: 's' });
    const waiting = verifier.ready();
    await verifier.close();
    await expect(waiting).rejects.toThrow(/closed before it was ready/);
  });

  it('tells onStatusChange fresh, then stale with why, then fresh again', async () => {
    let mode: Mode = 'reading';
    const feed = await fakeFeed(() => mode);
    server = feed.server;
    const changes: { fresh: boolean; reason: string }[] = [];
    verifier = createVerifier({
      baseUrl: feed.base,
      audience: 'test',
      clientId: 'c',
      clientSecret: 's',
      maxStalenessSeconds: 1,
      onStatusChange: ({ fresh, reason }) => changes.push({ fresh, reason }),
    });
    await verifier.ready();
    const waitFor = async (n: number) => {
      const deadline = Date.now() + 5_000;
      while (changes.length < n && Date.now() < deadline) await sleep(20);
    };
    await waitFor(1);
    mode = 'down';
    server.closeAllConnections();
    await waitFor(2);
    mode = 'reading';
    await waitFor(3);
    expect(changes.map((c) => c.fresh)).toEqual([true, false, true]);
    expect(changes[0]?.reason).toBe('caught up with the feed');
    expect(changes[1]?.reason).toMatch(/503|ended|fetch failed/);
  });
});
