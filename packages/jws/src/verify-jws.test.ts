import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jwsAlgorithm } from './algorithms.js';
import { parseCompactJws, unverifiedClaims } from './compact-jws.js';
import { keyForKid, verifyJws } from './verify-jws.js';

const NOW = 1_900_000_000;
const RULES = {
  typ: 'at+jwt',
  issuer: 'https://auth.test',
  audience: 'api',
  requiredClaims: ['sub'],
  now: NOW,
};
const CLAIMS = { iss: RULES.issuer, aud: RULES.audience, sub: 'u', iat: NOW, exp: NOW + 60 };
const ours = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function signed(
  key: KeyObject,
  claims: unknown = CLAIMS,
  header: unknown = { alg: 'EdDSA', kid: 'k1', typ: 'at+jwt' },
) {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

const parsed = (token: string) => {
  const jws = parseCompactJws(token);
  if (jws === undefined) throw new Error(`did not parse: ${token}`);
  return jws;
};

describe('the algorithm table', () => {
  it('has EdDSA on Ed25519, with 64-byte signatures (86 base64url characters), signed deterministically', () => {
    expect(jwsAlgorithm('EdDSA')).toMatchObject({
      name: 'EdDSA',
      keyType: 'ed25519',
      signatureBytes: 64,
      encodedSignatureLength: 86,
      deterministic: true,
    });
  });

  it('names nothing for an algorithm it does not take, a prototype name or a non-string', () => {
    for (const alg of [
      'none',
      'HS256',
      'ES256',
      'eddsa',
      'Ed25519',
      '__proto__',
      'toString',
      'constructor',
    ]) {
      expect(jwsAlgorithm(alg), alg).toBeUndefined();
    }
    expect(jwsAlgorithm(undefined)).toBeUndefined();
    expect(jwsAlgorithm(['EdDSA'])).toBeUndefined();
  });
});

describe('parseCompactJws', () => {
  it('takes a token apart: its algorithm, kid, header, signing input, payload and signature', () => {
    const token = signed(ours.privateKey);
    const jws = parsed(token);
    expect(jws.algorithm).toBe(jwsAlgorithm('EdDSA'));
    expect(jws.kid).toBe('k1');
    expect(jws.signingInput).toBe(token.slice(0, token.lastIndexOf('.')));
    expect(jws.signature).toHaveLength(64);
    expect(unverifiedClaims(jws)).toEqual(CLAIMS);
  });

  it('refuses a header with no string kid, with crit, or with an algorithm outside the table', () => {
    for (const header of [
      { alg: 'EdDSA', typ: 'at+jwt' },
      { alg: 'EdDSA', kid: 7 },
      { alg: 'EdDSA', kid: 'k1', crit: ['exp'] },
      { alg: 'EdDSA', kid: 'k1', crit: null },
      { alg: 'none', kid: 'k1' },
      { alg: 'toString', kid: 'k1' },
      { kid: 'k1' },
    ]) {
      expect(
        parseCompactJws(signed(ours.privateKey, CLAIMS, header)),
        JSON.stringify(header),
      ).toBeUndefined();
    }
  });

  it("refuses a signature of another length than the algorithm's", () => {
    const token = signed(ours.privateKey);
    expect(parseCompactJws(`${token.slice(0, -2)}`)).toBeUndefined();
    expect(parseCompactJws(`${token}AA`)).toBeUndefined();
  });

  it('gives no claims for a payload that is not a JSON object', () => {
    const header = b64({ alg: 'EdDSA', kid: 'k1' });
    for (const payload of ['[1]', 'null', '"x"', '{']) {
      const input = `${header}.${Buffer.from(payload).toString('base64url')}`;
      const jws = parsed(`${input}.${sign(null, Buffer.from(input), ours.privateKey).toString('base64url')}`);
      expect(unverifiedClaims(jws), payload).toBeUndefined();
    }
  });
});

describe('keyForKid', () => {
  const keys = new Map<string, KeyObject>([
    ['k1', createPublicKey(ours.privateKey)],
    ['ec', createPublicKey(p256.privateKey)],
  ]);

  it('gives the key the kid names', () => {
    expect(keyForKid(parsed(signed(ours.privateKey)), keys)).toBe(keys.get('k1'));
  });

  it('says unknown_kid for a kid with no key, unfit_key for a key of another type than the algorithm takes', () => {
    const header = (kid: string) => ({ alg: 'EdDSA', kid, typ: 'at+jwt' });
    expect(keyForKid(parsed(signed(ours.privateKey, CLAIMS, header('k2'))), keys)).toBe('unknown_kid');
    expect(keyForKid(parsed(signed(ours.privateKey, CLAIMS, header('ec'))), keys)).toBe('unfit_key');
  });
});

describe('verifyJws', () => {
  const publicKey = createPublicKey(ours.privateKey);

  it('accepts a genuine token and returns its claims', () => {
    expect(verifyJws(parsed(signed(ours.privateKey)), publicKey, RULES)).toEqual({
      ok: true,
      claims: CLAIMS,
    });
  });

  it("refuses another key's signature, and a key of another type than the algorithm's", () => {
    expect(verifyJws(parsed(signed(other.privateKey)), publicKey, RULES)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(verifyJws(parsed(signed(ours.privateKey)), createPublicKey(p256.privateKey), RULES)).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('calls a genuine expired token expired, and a forged expired one invalid (the signature comes first)', () => {
    const expired = { ...CLAIMS, exp: NOW };
    expect(verifyJws(parsed(signed(ours.privateKey, expired)), publicKey, RULES)).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(verifyJws(parsed(signed(other.privateKey, expired)), publicKey, RULES)).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('with the private key: accepts its tokens by signing again, and still verifies what it did not sign', () => {
    const token = parsed(signed(ours.privateKey));
    expect(verifyJws(token, publicKey, RULES, ours.privateKey)).toEqual({ ok: true, claims: CLAIMS });
    // A private key that is not the public key's: signing again differs, the verify decides.
    expect(verifyJws(token, publicKey, RULES, other.privateKey)).toEqual({ ok: true, claims: CLAIMS });
    expect(verifyJws(parsed(signed(other.privateKey)), publicKey, RULES, ours.privateKey)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    // A private key of another type is never used to sign again.
    expect(verifyJws(token, publicKey, RULES, p256.privateKey)).toEqual({ ok: true, claims: CLAIMS });
  });

  it('leaves iss alone when no issuer is asked for, and requires it when one is', () => {
    const { iss: _iss, ...withoutIss } = CLAIMS;
    const token = parsed(signed(ours.privateKey, withoutIss));
    const { issuer: _issuer, ...anyIssuer } = RULES;
    expect(verifyJws(token, publicKey, anyIssuer)).toEqual({ ok: true, claims: withoutIss });
    expect(verifyJws(token, publicKey, RULES)).toEqual({ ok: false, reason: 'invalid' });
  });
});
