import { describe, expect, it } from 'vitest';
import { DisableUser } from '../../src/application/commands/disable-user/command.js';
import { TriggerUserTokenRotation } from '../../src/application/commands/trigger-user-token-rotation/command.js';
import { testDatabases } from '../support/databases.js';
import { type TestApp, useTestApp } from '../support/test-app.js';

const PUBLIC_URL = 'https://auth.example.test';
const FORM = 'application/x-www-form-urlencoded';

const form = (params: Record<string, string> | string) =>
  typeof params === 'string' ? params : new URLSearchParams(params).toString();
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

function post(
  t: TestApp,
  url: string,
  body: Record<string, string> | string,
  headers: Record<string, string> = {},
) {
  return t.tw.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': FORM, ...headers },
    payload: form(body),
  });
}

async function serviceClient(t: TestApp, name = 'gateway') {
  const res = await t.request('POST', '/api/v1/admin/service-clients', {
    token: await t.adminToken(),
    body: { name },
  });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; secret: string };
}

/** An RFC 6749 §5.2 error: JSON, never cached, the code asked for. */
function expectOAuthError(
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
  error: string,
) {
  expect({ status: res.statusCode, body: res.json() }).toMatchObject({ status, body: { error } });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  const description = (res.json() as { error_description?: string }).error_description ?? '';
  expect(description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/);
}

describe.each(testDatabases())('OAuth endpoints on $name', (target) => {
  const t = useTestApp(target, {
    TOKENWARDEN_PUBLIC_URL: `${PUBLIC_URL}/`,
    TOKENWARDEN_REUSE_INTERVAL_SECONDS: '10',
  });
  let n = 0;
  const user = async () => {
    n += 1;
    const registered = await t.register(`oauth-${n}-${Date.now()}@example.com`);
    return { ...registered, pair: await t.login(registered.email) };
  };

  describe('metadata', () => {
    it('publishes RFC 8414 metadata whose issuer is the public URL, and no OpenID configuration', async () => {
      const res = await t.request('GET', '/.well-known/oauth-authorization-server');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        issuer: PUBLIC_URL,
        jwks_uri: `${PUBLIC_URL}/.well-known/jwks.json`,
        token_endpoint: `${PUBLIC_URL}/oauth/token`,
        revocation_endpoint: `${PUBLIC_URL}/oauth/revoke`,
        introspection_endpoint: `${PUBLIC_URL}/oauth/introspect`,
        grant_types_supported: ['refresh_token', 'client_credentials'],
        response_types_supported: [],
        token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
        revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        service_documentation: `${PUBLIC_URL}/docs`,
      });
      expect((await t.request('GET', '/.well-known/openid-configuration')).statusCode).toBe(404);
    });
  });

  describe('token endpoint', () => {
    it('rotates a refresh token, answers snake_case without caching, and replays then detects reuse', async () => {
      const { pair } = await user();
      const res = await post(t, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: pair.refreshToken,
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
      const body = res.json();
      expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type']);
      expect(body).toMatchObject({
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.stringMatching(/^twr_/),
      });
      expect((await t.request('GET', '/api/v1/users/me', { token: body.access_token })).statusCode).toBe(200);

      // A retry inside the reuse interval: the same successor, as /api/v1/tokens gives.
      const retry = await post(t, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: pair.refreshToken,
      });
      expect(retry.json().refresh_token).toBe(body.refresh_token);

      t.clock.advance(11);
      const reuse = await post(t, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: pair.refreshToken,
      });
      expectOAuthError(reuse, 400, 'invalid_grant');
      expect(reuse.json()).toMatchObject({ code: 'token_reused' });
      // Reuse revoked the whole session, the successor included.
      const successor = await post(t, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: body.refresh_token,
      });
      expectOAuthError(successor, 400, 'invalid_grant');
    });

    it('accepts the first-party client_id from a public client and refuses any other without a secret', async () => {
      const { pair } = await user();
      const ok = await post(t, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: pair.refreshToken,
        client_id: 'tokenwarden',
      });
      expect(ok.statusCode).toBe(200);
      const other = await post(t, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: ok.json().refresh_token,
        client_id: 'someone-else',
      });
      expectOAuthError(other, 401, 'invalid_client');
    });

    it('answers a rotated user refresh token with invalid_grant carrying the rejection', async () => {
      const u = await user();
      await t.tw.services.triggerUserTokenRotation.handle(
        TriggerUserTokenRotation({ userId: u.id, triggeredBy: u.id, reason: 'test' }),
      );
      const res = await post(t, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: u.pair.refreshToken,
      });
      expectOAuthError(res, 400, 'invalid_grant');
      expect(res.json()).toMatchObject({ code: 'token_rotated', rejection: 'user_rotation' });
    });

    it('refuses malformed requests with invalid_request, never 500', async () => {
      const { pair } = await user();
      const cases: [string, string | Record<string, string>, Record<string, string>?][] = [
        ['missing grant_type', { refresh_token: pair.refreshToken }],
        ['missing refresh_token', { grant_type: 'refresh_token' }],
        [
          'repeated parameter',
          `grant_type=refresh_token&refresh_token=${pair.refreshToken}&refresh_token=twr_x`,
        ],
        ['repeated grant_type', 'grant_type=refresh_token&grant_type=client_credentials'],
        ['NUL in a value', { grant_type: 'refresh_token', refresh_token: `twr_\u0000abc` }],
        ['NUL in a name', { grant_type: 'refresh_token', [`x\u0000`]: '1' }],
        [
          'JSON body',
          JSON.stringify({ grant_type: 'refresh_token' }),
          { 'content-type': 'application/json' },
        ],
        ['text body', 'grant_type=refresh_token', { 'content-type': 'text/plain' }],
        [
          'both client authentication methods',
          { grant_type: 'client_credentials', client_id: 'a', client_secret: 'b' },
          { authorization: basic('a', 'b') },
        ],
        ['client_secret without client_id', { grant_type: 'client_credentials', client_secret: 'b' }],
        ['grant_type too long', { grant_type: 'x'.repeat(65) }],
      ];
      for (const [what, body, headers] of cases) {
        const res = await post(t, '/oauth/token', body, headers);
        expect({ what, status: res.statusCode }).toEqual({ what, status: 400 });
        expectOAuthError(res, 400, 'invalid_request');
      }
      // Nothing above used the token: it still refreshes.
      expect(
        (await post(t, '/oauth/token', { grant_type: 'refresh_token', refresh_token: pair.refreshToken }))
          .statusCode,
      ).toBe(200);
    });

    it('answers bad tokens, unknown grants, surrogates, control characters and huge bodies as OAuth errors', async () => {
      expectOAuthError(
        await post(t, '/oauth/token', { grant_type: 'password', username: 'a', password: 'b' }),
        400,
        'unsupported_grant_type',
      );
      expectOAuthError(
        await post(t, '/oauth/token', { grant_type: 'refresh_token', refresh_token: 'twr_nope' }),
        400,
        'invalid_grant',
      );
      // A lone surrogate cannot cross UTF-8: its bytes arrive as U+FFFD, an invalid grant like any other.
      expectOAuthError(
        await post(t, '/oauth/token', 'grant_type=refresh_token&refresh_token=twr_%ED%A0%80'),
        400,
        'invalid_grant',
      );
      expectOAuthError(
        await post(t, '/oauth/token', { grant_type: 'refresh_token', refresh_token: 'twr_\u202e\u001b[31m' }),
        400,
        'invalid_grant',
      );
      const huge = await post(t, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: 'x'.repeat(70_000),
      });
      expectOAuthError(huge, 413, 'invalid_request');
      const long = await post(t, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: 'x'.repeat(5_000),
      });
      expectOAuthError(long, 400, 'invalid_request');
      // The JSON API is unchanged: a form there is still 415 problem+json.
      const api = await post(t, '/api/v1/tokens', { refreshToken: 'twr_x' });
      expect(api.statusCode).toBe(415);
      expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('issues client_credentials tokens by Basic and by client_secret_post, without a refresh token', async () => {
      const client = await serviceClient(t);
      const byBasic = await post(
        t,
        '/oauth/token',
        { grant_type: 'client_credentials' },
        { authorization: basic(client.id, client.secret) },
      );
      expect(byBasic.statusCode).toBe(200);
      expect(Object.keys(byBasic.json()).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
      const byPost = await post(t, '/oauth/token', {
        grant_type: 'client_credentials',
        client_id: client.id,
        client_secret: client.secret,
      });
      expect(byPost.statusCode).toBe(200);

      const wrong = await post(
        t,
        '/oauth/token',
        { grant_type: 'client_credentials' },
        { authorization: basic(client.id, `${client.secret}x`) },
      );
      expectOAuthError(wrong, 401, 'invalid_client');
      expect(wrong.headers['www-authenticate']).toBe('Basic realm="tokenwarden"');
      expectOAuthError(
        await post(t, '/oauth/token', { grant_type: 'client_credentials' }),
        401,
        'invalid_client',
      );
      // A service client holds no refresh tokens.
      const { pair } = await user();
      const refresh = await post(
        t,
        '/oauth/token',
        { grant_type: 'refresh_token', refresh_token: pair.refreshToken },
        { authorization: basic(client.id, client.secret) },
      );
      expectOAuthError(refresh, 400, 'unauthorized_client');

      // A client token is for tokenwarden's service-client routes, never a user's.
      const token = byBasic.json().access_token as string;
      expect((await t.request('GET', '/api/v1/users/me', { token })).statusCode).toBe(401);
      expect((await t.request('GET', '/api/v1/revocations', { token })).statusCode).toBe(200);
    });

    it('stops a client token at once when its client is revoked', async () => {
      const client = await serviceClient(t, 'short-lived');
      const token = (
        await post(
          t,
          '/oauth/token',
          { grant_type: 'client_credentials' },
          { authorization: basic(client.id, client.secret) },
        )
      ).json().access_token as string;
      const { pair } = await user();
      const asClient = (body: Record<string, string>) =>
        post(t, '/oauth/introspect', body, { authorization: `Bearer ${token}` });
      expect((await asClient({ token: pair.accessToken })).json()).toMatchObject({ active: true });

      const revoked = await t.request('POST', `/api/v1/admin/service-clients/${client.id}/revocation`, {
        token: await t.adminToken(),
        body: {},
      });
      expect(revoked.statusCode).toBe(200);
      expectOAuthError(await asClient({ token: pair.accessToken }), 401, 'invalid_token');
      expect((await t.request('GET', '/api/v1/revocations', { token })).statusCode).toBe(401);
    });
  });

  describe('revocation', () => {
    it('ends the session of a refresh token, and of an access token, answering 200 with no body', async () => {
      const a = await user();
      const res = await post(t, '/oauth/revoke', {
        token: a.pair.refreshToken,
        token_type_hint: 'refresh_token',
      });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('');
      expect(res.headers['cache-control']).toBe('no-store');
      expectOAuthError(
        await post(t, '/oauth/token', { grant_type: 'refresh_token', refresh_token: a.pair.refreshToken }),
        400,
        'invalid_grant',
      );
      expect((await t.request('GET', '/api/v1/users/me', { token: a.pair.accessToken })).statusCode).toBe(
        401,
      );

      const b = await user();
      expect((await post(t, '/oauth/revoke', { token: b.pair.accessToken })).statusCode).toBe(200);
      expect((await t.refresh(b.pair.refreshToken)).statusCode).toBe(401);
      const audit = await t.request('GET', `/api/v1/admin/audit?action=session.revoked&userId=${b.id}`, {
        token: await t.adminToken(),
      });
      expect(audit.json().items).toMatchObject([{ reason: 'token_revocation', actor: b.id }]);
    });

    it('answers unknown, malformed and foreign tokens exactly as a revoked one', async () => {
      const a = await user();
      const real = await post(t, '/oauth/revoke', { token: a.pair.refreshToken });
      for (const token of ['twr_unknown', 'not a token', 'a.b.c', a.pair.refreshToken, '\u202e']) {
        const res = await post(t, '/oauth/revoke', { token });
        expect({ token, status: res.statusCode, body: res.body }).toEqual({
          token,
          status: real.statusCode,
          body: real.body,
        });
      }
      expectOAuthError(await post(t, '/oauth/revoke', {}), 400, 'invalid_request');
      expectOAuthError(
        await post(t, '/oauth/revoke', { token: 'x', client_id: 'c', client_secret: 'wrong' }),
        401,
        'invalid_client',
      );
    });
  });

  describe('introspection', () => {
    const introspect = async (token: string) => {
      const client = await serviceClient(t, 'introspector');
      return post(t, '/oauth/introspect', { token }, { authorization: basic(client.id, client.secret) });
    };

    it('describes a live access token and a live refresh token', async () => {
      const u = await user();
      const access = await introspect(u.pair.accessToken);
      expect(access.statusCode).toBe(200);
      expect(access.headers['cache-control']).toBe('no-store');
      expect(access.json()).toEqual({
        active: true,
        token_type: 'Bearer',
        sub: u.id,
        sid: u.pair.sessionId,
        iss: PUBLIC_URL,
        aud: 'tokenwarden',
        client_id: 'tokenwarden',
        jti: expect.any(String),
        iat: expect.any(Number),
        exp: expect.any(Number),
        ver: 1,
        gver: expect.any(Number),
      });
      const refresh = await introspect(u.pair.refreshToken);
      expect(refresh.json()).toMatchObject({
        active: true,
        sub: u.id,
        sid: u.pair.sessionId,
        client_id: 'tokenwarden',
      });
      // RFC 7662 §2.2: token_type is an access token type (RFC 6749 §7.1); a refresh token has none.
      expect(refresh.json()).not.toHaveProperty('token_type');
    });

    it('says only active:false for rotated, reused, revoked, expired, disabled and malformed tokens', async () => {
      const inactive = async (what: string, token: string) => {
        const res = await introspect(token);
        expect({ what, status: res.statusCode, body: res.json() }).toEqual({
          what,
          status: 200,
          body: { active: false },
        });
      };
      const used = await user();
      await t.refresh(used.pair.refreshToken);
      await inactive('a refresh token rotated away', used.pair.refreshToken);

      const rotated = await user();
      await t.tw.services.triggerUserTokenRotation.handle(
        TriggerUserTokenRotation({ userId: rotated.id, triggeredBy: rotated.id, reason: 'test' }),
      );
      await inactive('an access token after a user rotation', rotated.pair.accessToken);
      await inactive('a refresh token after a user rotation', rotated.pair.refreshToken);

      const loggedOut = await user();
      await t.request('DELETE', '/api/v1/sessions/current', { token: loggedOut.pair.accessToken });
      await inactive('an access token of a revoked session', loggedOut.pair.accessToken);
      await inactive('a refresh token of a revoked session', loggedOut.pair.refreshToken);

      const disabled = await user();
      await t.tw.services.disableUser.handle(
        DisableUser({ userId: disabled.id, actor: 'cli:ops', reason: null }),
      );
      await inactive('an access token of a disabled user', disabled.pair.accessToken);
      await inactive('a refresh token of a disabled user', disabled.pair.refreshToken);

      for (const junk of ['twr_unknown', 'nonsense', 'a.b.c', '\u202e\u0007'])
        await inactive(`malformed ${junk}`, junk);

      const expiring = await user();
      t.clock.advance(901);
      await inactive('an expired access token', expiring.pair.accessToken);
    });

    it('needs a service client, answering invalid_client with a Basic challenge otherwise', async () => {
      const u = await user();
      const none = await post(t, '/oauth/introspect', { token: u.pair.accessToken });
      expectOAuthError(none, 401, 'invalid_client');
      expect(none.headers['www-authenticate']).toBe('Basic realm="tokenwarden"');
      // A user's own access token is no service credential.
      const asUser = await post(
        t,
        '/oauth/introspect',
        { token: u.pair.accessToken },
        { authorization: `Bearer ${u.pair.accessToken}` },
      );
      expect(asUser.statusCode).toBe(401);
      const wrong = await post(
        t,
        '/oauth/introspect',
        { token: u.pair.accessToken },
        { authorization: basic('00000000-0000-4000-8000-000000000000', 'twc_x') },
      );
      expectOAuthError(wrong, 401, 'invalid_client');
    });
  });

  describe('RFC 6750 challenges', () => {
    it('sends no error code without credentials, invalid_token with a bad one, insufficient_scope without the role', async () => {
      const none = await t.request('GET', '/api/v1/users/me');
      expect(none.statusCode).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="tokenwarden"');
      const basicOnBearer = await t.request('GET', '/api/v1/users/me', {
        headers: { authorization: basic('a', 'b') },
      });
      expect(basicOnBearer.headers['www-authenticate']).toBe('Bearer realm="tokenwarden"');
      const bad = await t.request('GET', '/api/v1/users/me', { token: 'not.a.token' });
      expect(bad.statusCode).toBe(401);
      expect(bad.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
      const { pair } = await user();
      const notAdmin = await t.request('GET', '/api/v1/admin/security/config', { token: pair.accessToken });
      expect(notAdmin.statusCode).toBe(403);
      expect(notAdmin.headers['www-authenticate']).toMatch(
        /^Bearer realm="tokenwarden", error="insufficient_scope"/,
      );
    });
  });
});
