import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import fastifyJwt from '@fastify/jwt';
import { jwkToPem } from '@tokenwarden/verifier';
import express from 'express';
import { auth } from 'express-oauth2-jwt-bearer';
import Fastify from 'fastify';
import buildGetJwks from 'get-jwks';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import * as openid from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/composition-root.js';
import { testDatabases } from '../support/databases.js';
import { type ListeningApp, startListeningApp } from '../support/listening-app.js';
import { ManualClock } from '../support/manual-clock.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD } from '../support/test-app.js';

const AUDIENCE = 'https://api.example.test';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** A port free now: the issuer must name the port before the server listens on it. */
async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The OAuth surface as existing libraries use it, by package name, against a listening
 * server whose public URL (and so issuer) is its own address.
 */
describe.each(testDatabases())(
  'OAuth clients and resource servers against tokenwarden on $name',
  (target) => {
    let database: DatabaseHandle;
    let tw: ListeningApp;
    let issuer: string;
    let as: oauth.AuthorizationServer;
    const firstParty: oauth.Client = { client_id: 'tokenwarden' };

    beforeAll(async () => {
      database = await target.create();
      const port = await freePort();
      issuer = `http://127.0.0.1:${port}`;
      // Real time: the libraries check exp and iat against their own clocks.
      tw = await startListeningApp(
        database,
        { PORT: String(port), TOKENWARDEN_PUBLIC_URL: issuer, TOKENWARDEN_AUDIENCE: AUDIENCE },
        new ManualClock(new Date()),
      );
      const url = new URL(issuer);
      as = await oauth.processDiscoveryResponse(
        url,
        await oauth.discoveryRequest(url, { algorithm: 'oauth2', ...insecure }),
      );
    });
    afterAll(async () => {
      await tw?.close();
      await database?.close();
    });

    const json = async (path: string, body: unknown, token?: string) => {
      const res = await fetch(`${tw.base}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    let n = 0;
    const login = async () => {
      n += 1;
      const email = `lib-${n}-${Date.now()}@example.com`;
      expect((await json('/api/v1/users', { email, password: USER_PASSWORD })).status).toBe(201);
      const pair = await json('/api/v1/sessions', { email, password: USER_PASSWORD });
      return pair.body as { accessToken: string; refreshToken: string; sessionId: string };
    };
    const serviceClient = async () => {
      const admin = (await json('/api/v1/sessions', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).body
        .accessToken as string;
      return (await json('/api/v1/admin/service-clients', { name: 'lib-client' }, admin)).body as {
        id: string;
        secret: string;
      };
    };

    it('oauth4webapi: discovers, refreshes with rotation, and gets invalid_grant on reuse', async () => {
      expect(as.issuer).toBe(issuer);
      const pair = await login();
      const response = await oauth.refreshTokenGrantRequest(
        as,
        firstParty,
        oauth.None(),
        pair.refreshToken,
        insecure,
      );
      const tokens = await oauth.processRefreshTokenResponse(as, firstParty, response);
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.refresh_token).not.toBe(pair.refreshToken);

      tw.clock.advance(11);
      const reuse = await oauth.refreshTokenGrantRequest(
        as,
        firstParty,
        oauth.None(),
        pair.refreshToken,
        insecure,
      );
      const failure = await oauth
        .processRefreshTokenResponse(as, firstParty, reuse)
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(oauth.ResponseBodyError);
      expect(failure).toMatchObject({ error: 'invalid_grant', status: 400 });
    });

    it('oauth4webapi: revokes, introspects and validates RFC 9068 access tokens', async () => {
      const pair = await login();
      const client = await serviceClient();
      const service: oauth.Client = { client_id: client.id };
      const introspect = async (token: string) =>
        oauth.processIntrospectionResponse(
          as,
          service,
          await oauth.introspectionRequest(
            as,
            service,
            oauth.ClientSecretBasic(client.secret),
            token,
            insecure,
          ),
        );

      const active = await introspect(pair.accessToken);
      expect(active).toMatchObject({
        active: true,
        iss: issuer,
        aud: AUDIENCE,
        client_id: 'tokenwarden',
        sid: pair.sessionId,
      });

      const claims = await oauth.validateJwtAccessToken(
        as,
        new Request(`${issuer}/orders`, { headers: { authorization: `Bearer ${pair.accessToken}` } }),
        AUDIENCE,
        insecure,
      );
      expect(claims).toMatchObject({
        iss: issuer,
        aud: AUDIENCE,
        client_id: 'tokenwarden',
        jti: expect.any(String),
      });

      const revoked = await oauth.revocationRequest(
        as,
        firstParty,
        oauth.None(),
        pair.refreshToken,
        insecure,
      );
      await oauth.processRevocationResponse(revoked);
      expect(await introspect(pair.accessToken)).toEqual({ active: false });
      expect(await introspect(pair.refreshToken)).toEqual({ active: false });
    });

    it('openid-client: refreshTokenGrant through RFC 8414 discovery', async () => {
      const pair = await login();
      const config = await openid.discovery(new URL(issuer), 'tokenwarden', undefined, openid.None(), {
        algorithm: 'oauth2',
        execute: [openid.allowInsecureRequests],
      });
      const tokens = await openid.refreshTokenGrant(config, pair.refreshToken);
      expect(tokens.access_token).toEqual(expect.any(String));
      expect(tokens.expiresIn()).toBeGreaterThan(0);
    });

    it('openid-client: introspects with its default client_secret_post, access and refresh tokens', async () => {
      const pair = await login();
      const client = await serviceClient();
      // A secret string and no auth method: openid-client sends client_secret_post.
      const config = await openid.discovery(new URL(issuer), client.id, client.secret, undefined, {
        algorithm: 'oauth2',
        execute: [openid.allowInsecureRequests],
      });
      expect(config.serverMetadata().introspection_endpoint_auth_methods_supported).toEqual([
        'client_secret_basic',
        'client_secret_post',
      ]);
      const access = await openid.tokenIntrospection(config, pair.accessToken);
      expect(access).toMatchObject({ active: true, token_type: 'Bearer', sid: pair.sessionId });
      const refresh = await openid.tokenIntrospection(config, pair.refreshToken);
      expect(refresh).toMatchObject({ active: true, sid: pair.sessionId });
      expect(refresh.token_type).toBeUndefined();
      const wrong = await openid.discovery(new URL(issuer), client.id, `${client.secret}x`, undefined, {
        algorithm: 'oauth2',
        execute: [openid.allowInsecureRequests],
      });
      // A 401 with its Basic challenge (RFC 6749 §5.2), which openid-client raises as such.
      await expect(openid.tokenIntrospection(wrong, pair.accessToken)).rejects.toBeInstanceOf(
        openid.WWWAuthenticateChallengeError,
      );
    });

    it('openid-client: revoking a client-credentials token is unsupported_token_type, as documented', async () => {
      const client = await serviceClient();
      const config = await openid.discovery(new URL(issuer), client.id, client.secret, undefined, {
        algorithm: 'oauth2',
        execute: [openid.allowInsecureRequests],
      });
      const granted = await openid.clientCredentialsGrant(config);
      const failure = await openid
        .tokenRevocation(config, granted.access_token)
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(openid.ResponseBodyError);
      expect(failure).toMatchObject({ error: 'unsupported_token_type', status: 400 });
      // Not a silent 200: the token is still good, and the answer said so.
      expect(await openid.tokenIntrospection(config, granted.access_token)).toMatchObject({
        active: true,
        client_id: client.id,
      });
      // A user's tokens are still revoked with 200 by the same client.
      const pair = await login();
      await openid.tokenRevocation(config, pair.refreshToken);
      expect(await openid.tokenIntrospection(config, pair.accessToken)).toEqual({ active: false });
    });

    it('jose: verifies issuer, audience and typ through the JWKS', async () => {
      const pair = await login();
      const { payload, protectedHeader } = await jwtVerify(
        pair.accessToken,
        createRemoteJWKSet(new URL(as.jwks_uri as string)),
        {
          issuer,
          audience: AUDIENCE,
          typ: 'at+jwt',
        },
      );
      expect(protectedHeader.alg).toBe('EdDSA');
      expect(payload).toMatchObject({ client_id: 'tokenwarden', sid: pair.sessionId });
    });

    it('express-oauth2-jwt-bearer: issuerBaseURL + audience, default and strict', async () => {
      const pair = await login();
      const client = await serviceClient();
      const app = express();
      app.get('/default', auth({ issuerBaseURL: issuer, audience: AUDIENCE }), (req, res) => {
        res.json(req.auth?.payload);
      });
      app.get('/strict', auth({ issuerBaseURL: issuer, audience: AUDIENCE, strict: true }), (req, res) => {
        res.json(req.auth?.payload);
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      try {
        const { port } = server.address() as AddressInfo;
        const get = (path: string, token: string) =>
          fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${token}` } });
        for (const path of ['/default', '/strict']) {
          const res = await get(path, pair.accessToken);
          expect({ path, status: res.status }).toEqual({ path, status: 200 });
          expect(await res.json()).toMatchObject({ sub: expect.any(String), iss: issuer });
        }
        // A service client's token is for tokenwarden itself: a resource server with the users' audience refuses it.
        const clientToken = (
          await (
            await fetch(`${issuer}/oauth/token`, {
              method: 'POST',
              headers: {
                'content-type': 'application/x-www-form-urlencoded',
                authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
              },
              body: 'grant_type=client_credentials',
            })
          ).json()
        ).access_token as string;
        expect((await get('/default', clientToken)).status).toBe(401);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('@fastify/jwt with get-jwks and jwkToPem (OKP keys)', async () => {
      const pair = await login();
      const jwks = buildGetJwks({ issuersWhitelist: [issuer] });
      const api = Fastify({ logger: false });
      await api.register(fastifyJwt, {
        decode: { complete: true },
        secret: async (_request: unknown, token: unknown) => {
          const { header, payload } = token as {
            header: { kid: string; alg: string };
            payload: { iss: string };
          };
          return jwkToPem(await jwks.getJwk({ domain: payload.iss, kid: header.kid, alg: header.alg }));
        },
        verify: { algorithms: ['EdDSA'], allowedIss: issuer, allowedAud: AUDIENCE },
      });
      api.get('/orders', async (request) => {
        await request.jwtVerify();
        return request.user;
      });
      try {
        const ok = await api.inject({
          url: '/orders',
          headers: { authorization: `Bearer ${pair.accessToken}` },
        });
        expect(ok.statusCode).toBe(200);
        expect(ok.json()).toMatchObject({ iss: issuer, sid: pair.sessionId });
        const tampered = `${pair.accessToken.slice(0, -3)}${pair.accessToken.endsWith('AAA') ? 'BBB' : 'AAA'}`;
        const bad = await api.inject({ url: '/orders', headers: { authorization: `Bearer ${tampered}` } });
        expect(bad.statusCode).toBe(401);
      } finally {
        await api.close();
      }
    });
  },
);
