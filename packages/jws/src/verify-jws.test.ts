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

  it('has ES256 on P-256, with 64-byte R || S signatures (86 base64url characters), not deterministic', () => {
    expect(jwsAlgorithm('ES256')).toMatchObject({
      name: 'ES256',
      keyType: 'ec',
      namedCurve: 'prime256v1',
      signatureBytes: 64,
      encodedSignatureLength: 86,
      deterministic: false,
    });
  });

  it('names nothing for an algorithm it does not take, a prototype name or a non-string', () => {
    for (const alg of [
      'none',
      'HS256',
      'ES384',
      'RS256',
      'es256',
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

describe('ES256', () => {
  const es = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const esOther = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const esPublic = createPublicKey(es.privateKey);
  const ES_HEADER = { alg: 'ES256', kid: 'ec', typ: 'at+jwt' };
  const input = (header: unknown = ES_HEADER, claims: unknown = CLAIMS) => `${b64(header)}.${b64(claims)}`;
  const esSigned = (
    key: KeyObject = es.privateKey,
    header: unknown = ES_HEADER,
    claims: unknown = CLAIMS,
    dsaEncoding: 'ieee-p1363' | 'der' = 'ieee-p1363',
  ) => {
    const text = input(header, claims);
    return `${text}.${sign('sha256', Buffer.from(text), { key, dsaEncoding }).toString('base64url')}`;
  };
  const keys = new Map<string, KeyObject>([
    ['ec', esPublic],
    ['k1', createPublicKey(ours.privateKey)],
  ]);

  it('accepts a genuine token, signed with R || S, and returns its claims', () => {
    const jws = parsed(esSigned());
    expect(jws.algorithm).toBe(jwsAlgorithm('ES256'));
    expect(jws.signature).toHaveLength(64);
    expect(keyForKid(jws, keys)).toBe(esPublic);
    expect(verifyJws(jws, esPublic, RULES)).toEqual({ ok: true, claims: CLAIMS });
  });

  it('refuses a DER signature and any signature of another length than 64 bytes', () => {
    const der = esSigned(es.privateKey, ES_HEADER, CLAIMS, 'der');
    expect(Buffer.from(der.slice(der.lastIndexOf('.') + 1), 'base64url').length).toBeGreaterThan(64);
    expect(parseCompactJws(der)).toBeUndefined();
    const text = input();
    for (const bytes of [0, 32, 63, 65, 72, 96]) {
      const forged = `${text}.${Buffer.alloc(bytes, 1).toString('base64url')}`;
      expect(parseCompactJws(forged), String(bytes)).toBeUndefined();
    }
  });

  it("refuses another key's signature, a tampered payload and a signature of zeros", () => {
    expect(verifyJws(parsed(esSigned(esOther.privateKey)), esPublic, RULES)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    const token = esSigned();
    const tampered = `${input(ES_HEADER, { ...CLAIMS, sub: 'v' })}.${token.slice(token.lastIndexOf('.') + 1)}`;
    expect(verifyJws(parsed(tampered), esPublic, RULES)).toEqual({ ok: false, reason: 'invalid' });
    const zeros = `${input()}.${Buffer.alloc(64).toString('base64url')}`;
    expect(verifyJws(parsed(zeros), esPublic, RULES)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses alg confusion: an ES256 header naming an Ed25519 key, an EdDSA header naming a P-256 key', () => {
    const esNamingEd = parsed(esSigned(es.privateKey, { ...ES_HEADER, kid: 'k1' }));
    expect(keyForKid(esNamingEd, keys)).toBe('unfit_key');
    expect(verifyJws(esNamingEd, createPublicKey(ours.privateKey), RULES)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    const edNamingEs = parsed(signed(ours.privateKey, CLAIMS, { alg: 'EdDSA', kid: 'ec', typ: 'at+jwt' }));
    expect(keyForKid(edNamingEs, keys)).toBe('unfit_key');
    expect(verifyJws(edNamingEs, esPublic, RULES)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses keys of another curve: P-384 and secp256k1 signatures over SHA-256 are not ES256', () => {
    for (const namedCurve of ['secp384r1', 'secp256k1']) {
      const pair = generateKeyPairSync('ec', { namedCurve });
      const publicKey = createPublicKey(pair.privateKey);
      const curveKeys = new Map([['ec', publicKey]]);
      // secp256k1 (ES256K) makes 64-byte signatures too (P-384's are cut to 64): only the curve check refuses them.
      const text = input();
      const signature = sign('sha256', Buffer.from(text), {
        key: pair.privateKey,
        dsaEncoding: 'ieee-p1363',
      });
      const token = `${text}.${signature.subarray(0, 64).toString('base64url')}`;
      const jws = parsed(token);
      expect(keyForKid(jws, curveKeys), namedCurve).toBe('unfit_key');
      expect(verifyJws(jws, publicKey, RULES), namedCurve).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('with the private key: still runs the verify (a fresh nonce per sign), accepting exactly what it accepts', () => {
    expect(verifyJws(parsed(esSigned()), esPublic, RULES, es.privateKey)).toEqual({
      ok: true,
      claims: CLAIMS,
    });
    expect(verifyJws(parsed(esSigned(esOther.privateKey)), esPublic, RULES, es.privateKey)).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });
});
