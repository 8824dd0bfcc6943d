import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import fc from 'fast-check';
import { createLocalJWKSet, errors, type JWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { MAX_COMPACT_JWS_LENGTH, MAX_PROTECTED_HEADER_LENGTH, parseCompactJws } from './compact-jws.js';
import { keyForKid, verifyJws } from './verify-jws.js';

/**
 * The module alone (parse, key by kid, signature, `typ` and registered claims), as the
 * verifier package uses it, against jose's `jwtVerify` as the oracle: it refuses what jose
 * refuses, calls expired what jose does, and accepts the rest but what it refuses on
 * purpose. The server's signer (its keys, its sign-again path, its claim shapes) is held to
 * jose in src/infrastructure/crypto/jws-access-token-signer.oracle.test.ts.
 */

const NOW = 1_900_000_000;
const AUDIENCE = 'orders-api';
const ISSUER = 'https://auth.test';
const REQUIRED = ['sub', 'sid', 'jti', 'iat', 'exp', 'ver', 'gver'];
const ours = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const oursEc = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const strangerEc = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const KID = 'kid-1';
const EC_KID = 'kid-ec';
const KEYS = new Map([
  [KID, createPublicKey(ours.privateKey)],
  [EC_KID, createPublicKey(oursEc.privateKey)],
]);
const publicJwk = (key: KeyObject) => createPublicKey(key).export({ format: 'jwk' }) as JWK;
// Both algorithms' keys in one set, as during a switch from EdDSA to ES256.
const jwks = createLocalJWKSet({
  keys: [
    { ...publicJwk(ours.privateKey), kid: KID, alg: 'EdDSA', use: 'sig' },
    { ...publicJwk(oursEc.privateKey), kid: EC_KID, alg: 'ES256', use: 'sig' },
  ],
});
const b64 = (value: string) => Buffer.from(value).toString('base64url');
const canonical = (part: string) =>
  /^[A-Za-z0-9_-]+$/.test(part) && Buffer.from(part, 'base64url').toString('base64url') === part;

/** Signs by the key's type (Ed25519, or ES256's R || S), whatever the header says. */
function signed(key: KeyObject, header: unknown, claims: unknown): string {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
  const signature =
    key.asymmetricKeyType === 'ec'
      ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
      : sign(null, Buffer.from(input), key);
  return `${input}.${signature.toString('base64url')}`;
}

async function oracle(token: string): Promise<'ok' | 'invalid' | 'expired'> {
  try {
    await jwtVerify(token, jwks, {
      algorithms: ['EdDSA', 'ES256'],
      audience: AUDIENCE,
      issuer: ISSUER,
      typ: 'at+jwt',
      currentDate: new Date(NOW * 1000),
      requiredClaims: REQUIRED,
    });
    return 'ok';
  } catch (error) {
    return error instanceof errors.JWTExpired ? 'expired' : 'invalid';
  }
}

function checked(token: string): 'ok' | 'invalid' | 'expired' {
  const jws = parseCompactJws(token);
  if (jws === undefined) return 'invalid';
  // The key jose's JWKS would pick: ours under our kid, none otherwise.
  const key = keyForKid(jws, KEYS);
  if (typeof key === 'string') return 'invalid';
  const check = verifyJws(jws, key, {
    typ: 'at+jwt',
    audience: AUDIENCE,
    issuer: ISSUER,
    requiredClaims: REQUIRED,
    now: NOW,
  });
  return check.ok ? 'ok' : check.reason;
}

/** Where this check is stricter than jose on purpose (see compact-jws.ts). */
function stricter(token: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3 || token.length > MAX_COMPACT_JWS_LENGTH || !parts.every(canonical)) return true;
  if ((parts[0] ?? '').length > MAX_PROTECTED_HEADER_LENGTH || (parts[2] ?? '').length !== 86) return true;
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString()) as Record<string, unknown>;
  } catch {
    return false;
  }
  return typeof header?.kid !== 'string' || header.crit !== undefined;
}

describe('@tokenwarden/jws checks a JWT as jose jwtVerify does (oracle)', () => {
  const good = { iss: ISSUER, aud: AUDIENCE, sub: 'u', sid: 's', jti: 'j', ver: 1, gver: 1 };
  const edits = fc.array(
    fc.oneof(
      fc.tuple(
        fc.constantFrom('h.alg', 'h.kid', 'h.typ', 'h.crit'),
        fc.constantFrom(
          undefined,
          'none',
          'Ed25519',
          'ES256',
          'EdDSA',
          'kid-ec',
          7,
          ['b64'],
          'AT+JWT',
          'application/at+jwt',
          'JWT',
          'kid-2',
          '\u202ekid-1',
          'kid-1\u0000',
        ),
      ),
      fc.tuple(
        fc.constantFrom('iss', 'aud', 'sub', 'sid', 'ver'),
        fc.constantFrom(undefined, 'x', [AUDIENCE], 1, ISSUER),
      ),
      fc.tuple(
        fc.constantFrom('iat', 'nbf', 'exp'),
        fc.oneof(fc.integer({ min: NOW - 2, max: NOW + 2 }), fc.constantFrom('1', null, undefined)),
      ),
    ),
    { maxLength: 3 },
  );
  const mutation = fc.oneof(
    fc.constant((t: string) => t),
    fc.constantFrom('=', '==', '.', ' ').map((tail) => (t: string) => `${t}${tail}`),
    fc.integer({ min: 1, max: 15 }).map((d) => (t: string) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      return `${t.slice(0, -1)}${alphabet[alphabet.indexOf(t.at(-1) ?? 'A') ^ d]}`;
    }),
    fc.tuple(fc.nat(400), fc.constantFrom('A', '-', '=', '.')).map(([at, c]) => (t: string) => {
      const i = at % t.length;
      return `${t.slice(0, i)}${c}${t.slice(i + 1)}`;
    }),
  );

  it('refuses what jose refuses, calls expired what jose does, accepts the rest but what it refuses on purpose', async () => {
    await fc.assert(
      fc.asyncProperty(
        edits,
        mutation,
        fc.boolean(),
        fc.boolean(),
        async (changes, mutate, byStranger, ec) => {
          // An ES256 token under its key, or an EdDSA one; the edits may swap alg or kid (alg confusion).
          const header: Record<string, unknown> = ec
            ? { alg: 'ES256', kid: EC_KID, typ: 'at+jwt' }
            : { alg: 'EdDSA', kid: KID, typ: 'at+jwt' };
          const claims: Record<string, unknown> = { ...good, iat: NOW, exp: NOW + 60 };
          for (const [name, value] of changes) {
            if (name.startsWith('h.')) header[name.slice(2)] = value;
            else claims[name] = value;
          }
          const key = ec ? (byStranger ? strangerEc : oursEc) : byStranger ? stranger : ours;
          const token = mutate(signed(key.privateKey, header, claims));
          const expected = await oracle(token);
          const actual = checked(token);
          // A spelling it refuses on purpose is invalid even where jose would call it expired.
          if (stricter(token)) expect(actual, token).toBe('invalid');
          else expect(actual, token).toBe(expected);
        },
      ),
      { numRuns: 800 },
    );
  });

  it('accepts a genuine token of each algorithm (control)', async () => {
    const claims = { ...good, iat: NOW, exp: NOW + 1 };
    for (const token of [
      signed(ours.privateKey, { alg: 'EdDSA', kid: KID, typ: 'at+jwt' }, claims),
      signed(oursEc.privateKey, { alg: 'ES256', kid: EC_KID, typ: 'at+jwt' }, claims),
    ]) {
      expect(await oracle(token)).toBe('ok');
      expect(checked(token)).toBe('ok');
    }
  });

  it('refuses, as jose does, an ES256 token naming the Ed25519 key and an EdDSA token naming the P-256 key', async () => {
    const claims = { ...good, iat: NOW, exp: NOW + 60 };
    for (const token of [
      signed(oursEc.privateKey, { alg: 'ES256', kid: KID, typ: 'at+jwt' }, claims),
      signed(ours.privateKey, { alg: 'EdDSA', kid: EC_KID, typ: 'at+jwt' }, claims),
      // The header's alg swapped, the signature left as its key made it.
      signed(oursEc.privateKey, { alg: 'EdDSA', kid: EC_KID, typ: 'at+jwt' }, claims),
      signed(ours.privateKey, { alg: 'ES256', kid: KID, typ: 'at+jwt' }, claims),
    ]) {
      expect(await oracle(token), token).toBe('invalid');
      expect(checked(token), token).toBe('invalid');
    }
  });

  it('agrees with jose on a high-S ES256 signature (R, n − S): both accept it, as ECDSA allows', async () => {
    const claims = { ...good, iat: NOW, exp: NOW + 60 };
    const token = signed(oursEc.privateKey, { alg: 'ES256', kid: EC_KID, typ: 'at+jwt' }, claims);
    const dot = token.lastIndexOf('.');
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    const order = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
    const flipped = Buffer.from((order - s).toString(16).padStart(64, '0'), 'hex');
    const other = `${token.slice(0, dot)}.${Buffer.concat([signature.subarray(0, 32), flipped]).toString('base64url')}`;
    expect(await oracle(other)).toBe('ok');
    expect(checked(other)).toBe('ok');
  });
});
