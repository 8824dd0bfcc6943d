import { generateKeyPairSync } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
} from 'jose';
import type { Kysely } from 'kysely';
import { beforeEach, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test/support/databases.js';
import { ManualClock } from '../../../test/support/manual-clock.js';
import type { AccessTokenInput } from '../../application/ports/access-token-signer.js';
import type { Database } from '../database/schema.js';
import { JwsAccessTokenSigner } from './jws-access-token-signer.js';
import { SigningKeyStore } from './signing-key-store.js';

const ISSUER = 'https://tokenwarden.test';
const input: AccessTokenInput = { sub: 'user-1', sid: 'session-1', role: 'user', ver: 1, gver: 1 };

function pkcs8Pem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

describeEachDatabase('SigningKeyStore', (suite) => {
  let clock: ManualClock;
  let db: Kysely<Database>;

  const storeOver = (overrideKey?: string, algorithm?: 'EdDSA' | 'ES256') =>
    new SigningKeyStore(db, clock, { overrideKey, algorithm });
  const signerOver = (keyStore: SigningKeyStore) => new JwsAccessTokenSigner({ keyStore, issuer: ISSUER });
  const storedKids = async () =>
    (await db.selectFrom('signing_keys').select('kid').execute()).map((r) => r.kid);

  beforeEach(async () => {
    // The suite's database is this file's alone; each test starts from an empty key table.
    db = suite.db;
    clock = new ManualClock();
    await db.deleteFrom('signing_keys').execute();
  });

  it('creates an active key on first start and keeps it across restarts, so old tokens stay valid', async () => {
    const first = storeOver();
    await first.ensureActiveKey();
    const { token } = await signerOver(first).sign(input, clock.now());

    clock.advance(60);
    const restarted = storeOver();
    await restarted.ensureActiveKey();
    expect((await signerOver(restarted).verify(token, clock.now())).ok).toBe(true);
    expect((await restarted.signingKey()).kid).toBe((await first.signingKey()).kid);
    expect(await storedKids()).toHaveLength(1);
  });

  it('creates exactly one key when several processes start at once', async () => {
    const stores = Array.from({ length: 6 }, () => storeOver());
    await Promise.all(stores.map((store) => store.ensureActiveKey()));
    const kids = await Promise.all(stores.map(async (store) => (await store.signingKey()).kid));
    expect(new Set(kids).size).toBe(1);
    expect(await storedKids()).toEqual([kids[0]]);
  });

  it('stores an EdDSA key under its JWK thumbprint, stamped by the clock', async () => {
    await storeOver().ensureActiveKey();
    const row = await db.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      algorithm: 'EdDSA',
      status: 'active',
      created_at: clock.now(),
      retired_at: null,
    });
    expect(row.public_jwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String) });
    expect(row.kid).toBe(await calculateJwkThumbprint(row.public_jwk as { kty: string }));
    expect(JSON.parse(row.private_jwk)).toMatchObject({ kty: 'OKP', crv: 'Ed25519', d: expect.any(String) });
  });

  it('publishes a JWKS of public keys only, each with kid, alg and use', async () => {
    const store = storeOver();
    await store.ensureActiveKey();
    const jwks = await store.jwks();
    expect(jwks.keys).toEqual([
      {
        kty: 'OKP',
        crv: 'Ed25519',
        x: expect.any(String),
        kid: (await store.signingKey()).kid,
        alg: 'EdDSA',
        use: 'sig',
      },
    ]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('keeps verifying a verifying key after a new active one, and drops a retired one on reload', async () => {
    const store = storeOver();
    await store.ensureActiveKey();
    const signer = signerOver(store);
    const { token } = await signer.sign(input, clock.now());
    const oldKid = (await store.signingKey()).kid;

    await db.updateTable('signing_keys').set({ status: 'verifying' }).execute();
    clock.advance(60);
    await store.ensureActiveKey();
    expect((await store.signingKey()).kid).not.toBe(oldKid);
    expect((await store.jwks()).keys.map((key) => key.kid)).toEqual([(await store.signingKey()).kid, oldKid]);
    expect((await signer.verify(token, clock.now())).ok).toBe(true);
    expect((await signer.verify((await signer.sign(input, clock.now())).token, clock.now())).ok).toBe(true);

    await db
      .updateTable('signing_keys')
      .set({ status: 'retired', retired_at: clock.now() })
      .where('kid', '=', oldKid)
      .execute();
    expect((await signer.verify(token, clock.now())).ok).toBe(true); // still cached
    await store.reload();
    expect(await signer.verify(token, clock.now())).toEqual({ ok: false, reason: 'token_invalid' });
    expect((await store.jwks()).keys).toHaveLength(1);
  });

  it('never holds two active keys: the database refuses a second one', async () => {
    const store = storeOver();
    await store.ensureActiveKey();
    await db.updateTable('signing_keys').set({ status: 'verifying', deactivated_at: clock.now() }).execute();
    clock.advance(60);
    await store.ensureActiveKey();
    await expect(db.updateTable('signing_keys').set({ status: 'active' }).execute()).rejects.toThrow(
      /signing_keys_one_active_key/,
    );
  });

  it('says to call ensureActiveKey when asked to sign with no key', async () => {
    await expect(storeOver().signingKey()).rejects.toThrow(/ensureActiveKey/);
  });

  const overrideForms: Array<[string, () => Promise<string>]> = [
    ['a PKCS8 PEM', async () => pkcs8Pem()],
    ['a PKCS8 PEM on one line with \\n escapes', async () => pkcs8Pem().trim().replaceAll('\n', '\\n')],
    [
      'a private JWK',
      async () =>
        JSON.stringify(
          await exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })).privateKey),
        ),
    ],
  ];

  it.each(overrideForms)('signs with an override given as %s and never stores it', async (_name, makeKey) => {
    const store = storeOver(await makeKey());
    await store.ensureActiveKey();
    const pinned = signerOver(store);
    const { token } = await pinned.sign(input, clock.now());
    expect((await pinned.verify(token, clock.now())).ok).toBe(true);

    const [published] = (await store.jwks()).keys;
    expect(decodeProtectedHeader(token).kid).toBe(published!.kid);
    expect(published!.kid).toBe(await calculateJwkThumbprint(published!));
    expect(published).not.toHaveProperty('d');
    expect(await storedKids()).toEqual([]);

    const unpinned = storeOver();
    await unpinned.ensureActiveKey();
    expect(await signerOver(unpinned).verify(token, clock.now())).toEqual({
      ok: false,
      reason: 'token_invalid',
    });
  });

  it('derives the same kid from the same override key in either form', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const jwk = JSON.stringify(privateKey.export({ format: 'jwk' }));
    const kidOf = async (overrideKey: string) => (await storeOver(overrideKey).signingKey()).kid;
    expect(await kidOf(pem)).toBe(await kidOf(jwk));
  });

  it('still verifies tokens of the stored keys while an override signs', async () => {
    const stored = storeOver();
    await stored.ensureActiveKey();
    const { token } = await signerOver(stored).sign(input, clock.now());
    const pinned = storeOver(pkcs8Pem());
    await pinned.ensureActiveKey();
    expect((await signerOver(pinned).verify(token, clock.now())).ok).toBe(true);
    expect((await pinned.jwks()).keys).toHaveLength(2);
  });

  it('treats an empty override as none', async () => {
    const store = storeOver('  ');
    await store.ensureActiveKey();
    expect(await storedKids()).toEqual([(await store.signingKey()).kid]);
  });

  it.each([
    ['garbage', 'not a key'],
    ['a truncated PEM', pkcs8Pem().slice(0, 60)],
    [
      'an RSA key',
      generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString(),
    ],
    [
      'a P-256 JWK',
      JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })),
    ],
    [
      'a public Ed25519 JWK',
      JSON.stringify(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' })),
    ],
    [
      'an SPKI public PEM',
      generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    ],
    ['broken JSON', '{"kty":"OKP",'],
  ])('refuses %s as override at construction, naming TOKENWARDEN_SIGNING_KEY', (_name, overrideKey) => {
    expect(() => storeOver(overrideKey)).toThrow(/TOKENWARDEN_SIGNING_KEY/);
  });

  it('with ES256: stores a P-256 key stamped ES256 and publishes it as EC with x and y', async () => {
    const store = storeOver(undefined, 'ES256');
    await store.ensureActiveKey();
    const row = await db.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ algorithm: 'ES256', status: 'active' });
    expect(row.public_jwk).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) });
    expect(row.kid).toBe(await calculateJwkThumbprint(row.public_jwk as { kty: string }));
    const jwks = await store.jwks();
    expect(jwks.keys).toEqual([
      {
        kty: 'EC',
        crv: 'P-256',
        x: expect.any(String),
        y: expect.any(String),
        kid: row.kid,
        alg: 'ES256',
        use: 'sig',
      },
    ]);
    expect(jwks.keys[0]).not.toHaveProperty('d');

    const signer = signerOver(store);
    const { token } = await signer.sign(input, clock.now());
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: row.kid, typ: 'at+jwt' });
    // jose, given the published JWKS, takes it.
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [...jwks.keys] }), {
      algorithms: ['ES256'],
      issuer: ISSUER,
      currentDate: clock.now(),
    });
    expect(payload.sub).toBe(input.sub);
    expect((await signer.verify(token, clock.now())).ok).toBe(true);
  });

  it('signs with a P-256 override under ES256, and refuses an Ed25519 one naming both variables', async () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const store = storeOver(p256.export({ format: 'pem', type: 'pkcs8' }).toString(), 'ES256');
    await store.ensureActiveKey();
    const { token } = await signerOver(store).sign(input, clock.now());
    expect(decodeProtectedHeader(token).alg).toBe('ES256');
    expect((await store.jwks()).keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(await storedKids()).toEqual([]);

    expect(() => storeOver(pkcs8Pem(), 'ES256')).toThrow(
      /TOKENWARDEN_SIGNING_KEY.*TOKENWARDEN_SIGNING_ALG=ES256/,
    );
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' });
    expect(() => storeOver(JSON.stringify(p384), 'ES256')).toThrow(/TOKENWARDEN_SIGNING_KEY.*secp384r1/);
  });
});
