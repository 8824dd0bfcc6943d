import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { createVerifier, type Verifier } from '@tokenwarden/verifier';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import jwt, { type GetPublicKeyOrSecret, type JwtPayload } from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenwarden, type DatabaseHandle, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { testDatabases } from '../support/databases.js';
import { call, login, register } from '../support/instances.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_ENV } from '../support/test-app.js';

/** Real time: jsonwebtoken, jose and the verifier check `exp` against this machine's clock. */
const realClock = { now: () => new Date() };
const AUDIENCE = 'tokenwarden';

interface Running {
  readonly tw: Tokenwarden;
  readonly base: string;
}

/** tokenwarden listening on 127.0.0.1 (an OS-chosen port) over `database`, with `env` over the test settings. */
async function start(database: DatabaseHandle, env: Record<string, string> = {}): Promise<Running> {
  const tw = await createTokenwarden(loadConfig({ ...TEST_ENV, ...env }), {
    clock: realClock,
    database,
    logger: false,
    defaultMetrics: false,
  });
  await tw.app.listen({ host: '127.0.0.1', port: 0 });
  return { tw, base: `http://127.0.0.1:${(tw.app.server.address() as AddressInfo).port}` };
}

interface PublishedKey {
  readonly kty: string;
  readonly crv: string;
  readonly kid: string;
  readonly alg: string;
  readonly use: string;
  readonly y?: string;
}

/**
 * What a passport-jwt (or express-jwt) stack does: jsonwebtoken verifies, jwks-rsa fetches
 * the JWKS over HTTP and picks the key by kid.
 */
async function verifyWithJsonwebtoken(base: string, issuer: string, token: string): Promise<JwtPayload> {
  const client = jwksRsa({ jwksUri: `${base}/.well-known/jwks.json`, cache: false, timeout: 5_000 });
  const getKey: GetPublicKeyOrSecret = (header, callback) => {
    client.getSigningKey(header.kid, (error, key) => callback(error, key?.getPublicKey()));
  };
  const verify = promisify(
    (
      value: string,
      options: jwt.VerifyOptions,
      callback: (error: jwt.VerifyErrors | null, decoded?: string | JwtPayload) => void,
    ) => jwt.verify(value, getKey, options, callback),
  );
  const decoded = await verify(token, { algorithms: ['ES256'], issuer, audience: AUDIENCE });
  if (decoded === undefined || typeof decoded === 'string') throw new Error('no claims');
  return decoded;
}

/** The token with its `sub` changed and the signature left as it was. */
function tampered(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
  return `${header}.${forged}.${signature}`;
}

describe.each(testDatabases())('ES256 access tokens, and switching to them, on $name', (target) => {
  let database: DatabaseHandle;
  let running: Running | undefined;
  let base = '';
  let issuer = '';
  let verifier: Verifier | undefined;
  /** An EdDSA access token issued before the switch, and the key that signed it. */
  let edToken = '';
  let edKid = '';
  let esToken = '';
  let tokensOfEach: string[] = [];
  let userId = '';

  beforeAll(async () => {
    database = await target.create();
    // Before: the default algorithm, one EdDSA key, a user with a token it signed.
    const before = await start(database);
    userId = await register(before.base, `es256-${target.name}@example.com`);
    edToken = await login(before.base, `es256-${target.name}@example.com`);
    edKid = decodeProtectedHeader(edToken).kid as string;
    await before.tw.close();

    // After: two instances start together with ES256 on that database.
    const [first, second] = await Promise.all([
      start(database, { TOKENWARDEN_SIGNING_ALG: 'ES256' }),
      start(database, { TOKENWARDEN_SIGNING_ALG: 'ES256' }),
    ]);
    // Whichever of them lost the race signs with the winner's key from its first token.
    tokensOfEach = [
      await login(first.base, `es256-${target.name}@example.com`),
      await login(second.base, `es256-${target.name}@example.com`),
    ];
    await second.tw.close();
    running = first;
    base = first.base;
    const metadata = await fetch(`${base}/.well-known/oauth-authorization-server`);
    issuer = ((await metadata.json()) as { issuer: string }).issuer;
    esToken = await login(base, `es256-${target.name}@example.com`);

    const admin = await login(base, ADMIN_EMAIL, ADMIN_PASSWORD);
    const created = await call(base, 'POST', '/api/v1/admin/service-clients', {
      token: admin,
      body: { name: 'orders-api' },
    });
    expect(created.status).toBe(201);
    verifier = createVerifier({
      baseUrl: base,
      audience: AUDIENCE,
      issuer,
      clientId: created.body.id as string,
      clientSecret: created.body.secret as string,
      maxStalenessSeconds: 2,
    });
    await verifier.ready();
  }, 120_000); // a migrated PGlite on a loaded two-core machine can take most of a minute

  afterAll(async () => {
    await verifier?.close();
    await running?.tw.close();
    await database?.close();
  }, 30_000);

  const adminCall = async (method: 'GET' | 'POST', path: string, body?: object) =>
    call(base, method, path, { token: await login(base, ADMIN_EMAIL, ADMIN_PASSWORD), body });
  const jwks = async () =>
    ((await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: PublishedKey[] }).keys;

  it('switching is one audited rotation, however many instances start: a P-256 key signs, the Ed25519 key verifies', async () => {
    const keys = (await adminCall('GET', '/api/v1/admin/signing-keys')).body.items as {
      kid: string;
      algorithm: string;
      status: string;
    }[];
    expect(keys).toHaveLength(2);
    expect(keys).toMatchObject([
      { algorithm: 'ES256', status: 'active' },
      { kid: edKid, algorithm: 'EdDSA', status: 'verifying' },
    ]);
    const esKid = keys[0]?.kid;
    for (const token of [esToken, ...tokensOfEach]) {
      expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: esKid, typ: 'at+jwt' });
    }

    const rotations = (await adminCall('GET', '/api/v1/admin/audit?action=signing_key.rotated')).body
      .items as unknown[];
    expect(rotations).toEqual([
      expect.objectContaining({
        actor: 'system',
        reason: expect.stringContaining('TOKENWARDEN_SIGNING_ALG'),
        details: {
          previousKid: edKid,
          newKid: esKid,
          previousStatus: 'verifying',
          previousAlgorithm: 'EdDSA',
          algorithm: 'ES256',
        },
      }),
    ]);

    // The JWKS holds both: the EC key as RFC 7518 §6.2.1 has it, the OKP one until it retires.
    expect(await jwks()).toEqual([
      {
        kty: 'EC',
        crv: 'P-256',
        x: expect.any(String),
        y: expect.any(String),
        kid: esKid,
        alg: 'ES256',
        use: 'sig',
      },
      { kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: edKid, alg: 'EdDSA', use: 'sig' },
    ]);
  });

  it('jsonwebtoken with jwks-rsa verifies an ES256 token over the real JWKS, and rejects it tampered', async () => {
    const claims = await verifyWithJsonwebtoken(base, issuer, esToken);
    expect(claims).toMatchObject({ sub: userId, aud: AUDIENCE, iss: issuer });
    await expect(verifyWithJsonwebtoken(base, issuer, tampered(esToken))).rejects.toThrow(
      /invalid signature/,
    );
    // jsonwebtoken has no EdDSA: the token from before the switch is not one it can check.
    await expect(verifyWithJsonwebtoken(base, issuer, edToken)).rejects.toThrow(/invalid algorithm/);
  });

  it('jose (createRemoteJWKSet and jwtVerify) verifies an ES256 token, and rejects it tampered', async () => {
    const keySet = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
    const options = { issuer, audience: AUDIENCE, typ: 'at+jwt', algorithms: ['ES256', 'EdDSA'] };
    const { payload, protectedHeader } = await jwtVerify(esToken, keySet, options);
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.sub).toBe(userId);
    await expect(jwtVerify(tampered(esToken), keySet, options)).rejects.toThrow(
      /signature verification failed/,
    );
    expect((await jwtVerify(edToken, keySet, options)).protectedHeader.alg).toBe('EdDSA');
  });

  it("refuses, at tokenwarden and in the verifier, a token whose header's alg is not its key's (alg confusion)", async () => {
    const withAlg = (token: string, alg: string) => {
      const [header, ...rest] = token.split('.') as [string, string, string];
      const decoded = JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>;
      return [Buffer.from(JSON.stringify({ ...decoded, alg })).toString('base64url'), ...rest].join('.');
    };
    for (const confused of [withAlg(esToken, 'EdDSA'), withAlg(edToken, 'ES256')]) {
      expect((await call(base, 'GET', '/api/v1/users/me', { token: confused })).status).toBe(401);
      expect(await verifier?.verify(confused)).toMatchObject({ ok: false, code: 'token_invalid' });
    }
  });

  it('the EdDSA token from before verifies at tokenwarden and through the verifier until its key retires; ES256 ones go on', async () => {
    const me = async (token: string) => (await call(base, 'GET', '/api/v1/users/me', { token })).status;
    expect(await me(edToken)).toBe(200);
    expect(await me(esToken)).toBe(200);
    expect(await verifier?.verify(edToken)).toMatchObject({ ok: true, claims: { sub: userId } });
    expect(await verifier?.verify(esToken)).toMatchObject({ ok: true, claims: { sub: userId } });
    expect(await verifier?.verify(tampered(esToken))).toMatchObject({ ok: false, code: 'token_invalid' });

    // An admin rotation makes a key of the configured algorithm too.
    const rotated = await adminCall('POST', '/api/v1/admin/signing-keys/rotations', { reason: 'drill' });
    expect(rotated.status).toBe(201);
    const newKid = rotated.body.newKid as string;
    expect((await jwks()).find((key) => key.kid === newKid)).toMatchObject({ kty: 'EC', alg: 'ES256' });
    const latest = await login(base, `es256-${target.name}@example.com`);
    expect(decodeProtectedHeader(latest)).toMatchObject({ alg: 'ES256', kid: newKid });

    const retired = await adminCall(
      'POST',
      `/api/v1/admin/signing-keys/${encodeURIComponent(edKid)}/retirement`,
    );
    expect(retired.status).toBe(200);
    expect(await me(edToken)).toBe(401);
    await expect.poll(async () => (await verifier?.verify(edToken))?.ok, { timeout: 10_000 }).toBe(false);
    expect((await jwks()).map((key) => key.kid)).not.toContain(edKid);
    // The ES256 tokens still verify, under the rotated-out key and the new one.
    expect(await me(esToken)).toBe(200);
    expect(await verifier?.verify(esToken)).toMatchObject({ ok: true });
    expect(await verifier?.verify(latest)).toMatchObject({ ok: true });
    expect((await verifyWithJsonwebtoken(base, issuer, latest)).sub).toBe(userId);
  });
});
