import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useListeningApp } from '../support/listening-app.js';
import { useTestApp } from '../support/test-app.js';

const FORM = 'application/x-www-form-urlencoded';
const METRICS_TOKEN = 'conformance-metrics-token-0123456789abcdef';
const basicOf = (scheme: string, id: string, secret: string) =>
  `${scheme} ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

// PGlite only: these are HTTP rules, the same whatever the database.
const [pglite] = testDatabases();

describe('HTTP and OAuth conformance', () => {
  const t = useTestApp(pglite!, { TOKENWARDEN_METRICS_TOKEN: METRICS_TOKEN });
  let n = 0;
  const user = async () => {
    n += 1;
    const registered = await t.register(`conformance-${n}-${Date.now()}@example.com`);
    return { ...registered, pair: await t.login(registered.email) };
  };
  const serviceClient = async (name: string) => {
    const res = await t.request('POST', '/api/v1/admin/service-clients', {
      token: await t.adminToken(),
      body: { name },
    });
    expect(res.statusCode).toBe(201);
    return res.json() as { id: string; secret: string };
  };
  const post = (url: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
    t.tw.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': FORM, ...headers },
      payload: new URLSearchParams(body).toString(),
    });

  describe('revoking a refresh token that was rotated away', () => {
    const feedChanges = async (sessionId: string) => {
      const res = await t.request('GET', '/api/v1/revocations?after=0&limit=1000', {
        token: await t.adminToken(),
      });
      expect(res.statusCode).toBe(200);
      return (
        res.json().changes as { kind: string; sessionId?: string; details: { reason?: string } }[]
      ).filter((change) => change.sessionId === sessionId);
    };
    const auditOf = async (action: string, userId: string) =>
      (
        await t.request('GET', `/api/v1/admin/audit?action=${action}&userId=${userId}`, {
          token: await t.adminToken(),
        })
      ).json().items as { reason: string; actor: string }[];

    it('past the reuse interval is a replay: reuse detected, audited and on the feed as such', async () => {
      const u = await user();
      const rotated = await post('/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: u.pair.refreshToken,
      });
      expect(rotated.statusCode).toBe(200);
      const successor = (rotated.json() as { refresh_token: string }).refresh_token;
      t.clock.advance(11);
      const revoked = await post('/oauth/revoke', { token: u.pair.refreshToken });
      // RFC 7009's answer is unchanged: 200, empty.
      expect({ status: revoked.statusCode, body: revoked.body }).toEqual({ status: 200, body: '' });
      expect(await auditOf('refresh_token.reuse_detected', u.id)).toMatchObject([{ actor: 'system' }]);
      expect(await auditOf('session.revoked', u.id)).toEqual([]);
      expect(await feedChanges(u.pair.sessionId)).toMatchObject([
        { kind: 'session_revoked', details: { reason: 'refresh_token_reuse' } },
      ]);
      // The thief's copy and the holder's successor are both dead.
      const after = await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: successor });
      expect(after.statusCode).toBe(400);
      // A second revocation of the same token finds a revoked session: nothing more is written.
      await post('/oauth/revoke', { token: u.pair.refreshToken });
      expect(await auditOf('refresh_token.reuse_detected', u.id)).toHaveLength(1);
    });

    it("inside the reuse interval is the client's own retry: a plain revocation", async () => {
      const u = await user();
      const rotated = await post('/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: u.pair.refreshToken,
      });
      expect(rotated.statusCode).toBe(200);
      t.clock.advance(2);
      expect((await post('/oauth/revoke', { token: u.pair.refreshToken })).statusCode).toBe(200);
      expect(await auditOf('refresh_token.reuse_detected', u.id)).toEqual([]);
      expect(await auditOf('session.revoked', u.id)).toMatchObject([
        { reason: 'token_revocation', actor: u.id },
      ]);
      expect(await feedChanges(u.pair.sessionId)).toMatchObject([
        { kind: 'session_revoked', details: { reason: 'token_revocation' } },
      ]);
    });
  });

  describe('OAuth endpoints read forms only', () => {
    it('refuses an otherwise valid JSON body with 400 invalid_request, and the token stays untouched', async () => {
      const u = await user();
      const asJson = (url: string, body: Record<string, string>) =>
        t.tw.app.inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
      const client = await serviceClient('json-introspector');
      for (const [url, body] of [
        ['/oauth/token', { grant_type: 'refresh_token', refresh_token: u.pair.refreshToken }],
        ['/oauth/revoke', { token: u.pair.refreshToken }],
        [
          '/oauth/introspect',
          { token: u.pair.accessToken, client_id: client.id, client_secret: client.secret },
        ],
      ] as const) {
        const res = await asJson(url, body);
        expect({ url, status: res.statusCode, error: res.json().error }).toEqual({
          url,
          status: 400,
          error: 'invalid_request',
        });
        expect(res.headers['content-type']).toMatch(/^application\/json/);
      }
      // Neither rotated nor revoked: the form request still works with the same token.
      const refreshed = await post('/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: u.pair.refreshToken,
      });
      expect(refreshed.statusCode).toBe(200);
    });
  });

  describe('authentication schemes are case-insensitive (RFC 9110 §11.1)', () => {
    it('accepts bearer, BEARER and basic wherever a credential is read', async () => {
      const u = await user();
      for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
        const me = await t.request('GET', '/api/v1/users/me', {
          headers: { authorization: `${scheme} ${u.pair.accessToken}` },
        });
        expect({ scheme, status: me.statusCode }).toEqual({ scheme, status: 200 });
      }
      const admin = await t.adminToken();
      const feed = await t.request('GET', '/api/v1/revocations?limit=1', {
        headers: { authorization: `bearer ${admin}` },
      });
      expect(feed.statusCode).toBe(200);

      const client = await serviceClient('case-check');
      const granted = await post(
        '/oauth/token',
        { grant_type: 'client_credentials' },
        { authorization: basicOf('basic', client.id, client.secret) },
      );
      expect(granted.statusCode).toBe(200);
      const clientToken = (granted.json() as { access_token: string }).access_token;
      const introspected = await post(
        '/oauth/introspect',
        { token: u.pair.accessToken },
        { authorization: `bearer ${clientToken}` },
      );
      expect({ status: introspected.statusCode, active: introspected.json().active }).toEqual({
        status: 200,
        active: true,
      });
      const byClientFeed = await t.request('GET', '/api/v1/revocations?limit=1', {
        headers: { authorization: `bearer ${clientToken}` },
      });
      expect(byClientFeed.statusCode).toBe(200);

      const metrics = await t.request('GET', '/metrics', {
        headers: { authorization: `bearer ${METRICS_TOKEN}` },
      });
      expect(metrics.statusCode).toBe(200);
      const wrongMetrics = await t.request('GET', '/metrics', {
        headers: { authorization: `bearer ${METRICS_TOKEN}x` },
      });
      expect(wrongMetrics.statusCode).toBe(401);
    });
  });
});

describe('with CORS enabled', () => {
  const t = useTestApp(pglite!, { TOKENWARDEN_CORS_ORIGINS: 'https://app.example.test' });

  it('still answers 404 for an unknown path, and 405 only where a route exists', async () => {
    for (const [method, url] of [
      ['GET', '/nope'],
      ['POST', '/api/v1/nothing-here'],
      ['GET', '/api/v2/users/me'],
    ] as const) {
      const res = await t.request(method, url);
      expect({ method, url, status: res.statusCode, allow: res.headers.allow }).toEqual({
        method,
        url,
        status: 404,
        allow: undefined,
      });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const wrongMethod = await t.request('DELETE', '/api/v1/users/me');
    expect(wrongMethod.statusCode).toBe(405);
    // The preflight route answers OPTIONS on every served path, so Allow names it there.
    expect(wrongMethod.headers.allow).toBe('GET, HEAD, OPTIONS');
    const preflight = await t.tw.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/users/me',
      headers: { origin: 'https://app.example.test', 'access-control-request-method': 'GET' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.test');
  });
});

/** One raw HTTP/1.1 request over a socket (methods no HTTP client would send), the answer as text. */
function rawRequest(base: string, head: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head));
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('requests the HTTP parser refuses', () => {
  const server = useListeningApp(pglite!);

  it('answers an unknown method with problem+json, not the framework JSON', async () => {
    for (const method of ['FOO', 'BREW']) {
      const answer = await rawRequest(
        server.base,
        `${method} /api/v1/sessions HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
      );
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
      expect(head.toLowerCase()).toContain('content-type: application/problem+json');
      expect(JSON.parse(body)).toMatchObject({ status: 400, code: 'bad_request', title: 'Bad Request' });
    }
    // A method HTTP knows but no route serves is the 405 of every known path.
    const known = await rawRequest(
      server.base,
      'PROPFIND /api/v1/sessions HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    expect(known.split('\r\n')[0]).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(known.toLowerCase()).toContain('content-type: application/problem+json');
  });
});
