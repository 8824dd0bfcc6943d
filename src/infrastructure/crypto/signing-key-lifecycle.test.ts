import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { decodeProtectedHeader } from 'jose';
import type { Kysely } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test/support/databases.js';
import { ManualClock } from '../../../test/support/manual-clock.js';
import type { AccessTokenInput } from '../../application/ports/access-token-signer.js';
import { loadConfig } from '../../config.js';
import { masterKeyProblem } from '../../master-key.js';
import { KyselyUnitOfWork } from '../database/repositories/kysely-unit-of-work.js';
import type { Database } from '../database/schema.js';
import { JwsAccessTokenSigner } from './jws-access-token-signer.js';
import { createPrivateJwkSealer, type PrivateJwkSealer } from './private-jwk-sealer.js';
import { SigningKeyStore } from './signing-key-store.js';

const ISSUER = 'https://tokenwarden.test';
const TTL = 900;
const input: AccessTokenInput = { sub: 'user-1', sid: 'session-1', role: 'user', ver: 1, gver: 1 };
const MASTER_KEY = randomBytes(32).toString('base64');
const OTHER_MASTER_KEY = randomBytes(32).toString('base64url');
/** A passphrase an earlier version accepted as a master key (32+ characters). */
const OLD_PASSPHRASE = 'correct horse battery staple, but longer';

/** What an earlier version stored for `jwk` under a passphrase master key (the v1 format). */
function sealedByEarlierVersion(passphrase: string, kid: string, jwk: object): string {
  const key = Buffer.from(
    hkdfSync('sha256', Buffer.from(passphrase), 'tokenwarden/master-key', 'tokenwarden/signing-key/v1', 32),
  );
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(`tw-sealed:v1:${kid}`));
  const body = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
  return `tw-sealed:v1:${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url')}`;
}

describe('private JWK sealer', () => {
  const jwk = { kty: 'OKP', crv: 'Ed25519', x: 'x', d: 'secret-part' };

  it('stores plaintext JSON without a master key, and a versioned ciphertext with one', () => {
    expect(createPrivateJwkSealer(undefined).seal('kid-1', jwk)).toBe(JSON.stringify(jwk));
    const sealed = createPrivateJwkSealer(MASTER_KEY).seal('kid-1', jwk);
    expect(sealed).toMatch(/^tw-sealed:v1:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('secret-part');
    expect(createPrivateJwkSealer(MASTER_KEY).open('kid-1', sealed)).toEqual(jwk);
  });

  it('accepts 32+ random bytes as base64, base64url or hex', () => {
    const bytes = randomBytes(32);
    for (const key of [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')]) {
      const sealer = createPrivateJwkSealer(key);
      expect(sealer.open('kid-1', sealer.seal('kid-1', jwk))).toEqual(jwk);
    }
  });

  it('refuses passphrases and low-entropy keys, naming the variable and saying what to do', () => {
    for (const weak of [
      'a'.repeat(40),
      'a'.repeat(44),
      'a'.repeat(64),
      OLD_PASSPHRASE,
      Buffer.alloc(32, 7).toString('base64'),
      Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex'),
      Buffer.from('a long passphrase, merely encoded as base64!').toString('base64'),
      'too short',
      Buffer.alloc(16).toString('base64'),
    ]) {
      expect(() => createPrivateJwkSealer(weak), weak).toThrow(
        /TOKENWARDEN_MASTER_KEY must be at least 32 random bytes/,
      );
      expect(() => loadConfig({ TOKENWARDEN_MASTER_KEY: weak }), weak).toThrow(/TOKENWARDEN_MASTER_KEY/);
    }
    expect(masterKeyProblem(OLD_PASSPHRASE)).toMatch(
      /passphrases are not accepted.*TOKENWARDEN_MASTER_KEY_PREVIOUS/,
    );
    expect(masterKeyProblem('a'.repeat(44))).toMatch(/not random/);
  });

  it('refuses a passphrase with non-text bytes mixed in, given as base64 or hex', () => {
    const sentence = Buffer.from('the quick brown fox jumps over the lazy dog');
    for (const key of [
      Buffer.concat([sentence, Buffer.from([0x00])]),
      Buffer.concat([sentence, Buffer.from([0xff, 0x01, 0x9c, 0x00])]),
      Buffer.concat([
        Buffer.from([0x80]),
        Buffer.from('My Passw0rd for tokenwarden, 2026!'),
        Buffer.from([0x07]),
      ]),
      Buffer.concat([sentence.subarray(0, 30), randomBytes(8)]),
    ]) {
      expect(masterKeyProblem(key.toString('base64')), key.toString('hex')).toMatch(/not random/);
      expect(masterKeyProblem(key.toString('hex')), key.toString('hex')).toMatch(/not random/);
    }
  });

  it('never refuses a random 32-byte key (100 000 keys)', () => {
    for (let i = 0; i < 100_000; i++) {
      const encoded = randomBytes(32).toString('base64');
      if (masterKeyProblem(encoded) !== null) throw new Error(`refused random key ${encoded}`);
    }
  });

  it('never refuses a random key (100 000 keys of 32 to 64 bytes, in every encoding)', () => {
    for (let i = 0; i < 100_000; i++) {
      const bytes = randomBytes(32 + (i % 33));
      const encoded = [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')][
        i % 3
      ] as string;
      if (masterKeyProblem(encoded) !== null) throw new Error(`refused random key ${encoded}`);
    }
  });

  it('refuses every key drawn from fewer than 16 byte values, whatever its length', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 15 }),
        fc.array(fc.nat(), { minLength: 32, maxLength: 128 }),
        (alphabet, picks) => {
          const key = Buffer.from(picks.map((p) => alphabet[p % alphabet.length] as number));
          expect(masterKeyProblem(key.toString('base64'))).toMatch(/not random/);
          expect(masterKeyProblem(key.toString('hex'))).toMatch(/not random/);
        },
      ),
    );
  });

  it('opens keys sealed under a previous master key or an old passphrase, and says they need re-sealing', () => {
    const old = createPrivateJwkSealer(OTHER_MASTER_KEY).seal('kid-1', jwk);
    const fromPassphrase = sealedByEarlierVersion(OLD_PASSPHRASE, 'kid-2', jwk);
    const rotated = createPrivateJwkSealer(MASTER_KEY, OTHER_MASTER_KEY);
    expect(rotated.open('kid-1', old)).toEqual(jwk);
    expect(rotated.isCurrent('kid-1', old)).toBe(false);
    const resealed = rotated.seal('kid-1', jwk);
    expect(rotated.isCurrent('kid-1', resealed)).toBe(true);
    expect(createPrivateJwkSealer(MASTER_KEY).open('kid-1', resealed)).toEqual(jwk);

    const fromOld = createPrivateJwkSealer(MASTER_KEY, OLD_PASSPHRASE);
    expect(fromOld.open('kid-2', fromPassphrase)).toEqual(jwk);
    expect(fromOld.isCurrent('kid-2', fromPassphrase)).toBe(false);
    expect(() => createPrivateJwkSealer(MASTER_KEY, 'x'.repeat(40)).open('kid-2', fromPassphrase)).toThrow(
      /cannot decrypt signing key kid-2.*nor is TOKENWARDEN_MASTER_KEY_PREVIOUS/,
    );
    expect(() => loadConfig({ TOKENWARDEN_MASTER_KEY_PREVIOUS: OLD_PASSPHRASE })).toThrow(
      /TOKENWARDEN_MASTER_KEY_PREVIOUS needs TOKENWARDEN_MASTER_KEY/,
    );
    expect(
      loadConfig({ TOKENWARDEN_MASTER_KEY: MASTER_KEY, TOKENWARDEN_MASTER_KEY_PREVIOUS: OLD_PASSPHRASE }),
    ).toMatchObject({
      masterKey: MASTER_KEY,
      previousMasterKey: OLD_PASSPHRASE,
    });
  });

  it('keeps deriving the key an earlier version derived from the same accepted value', () => {
    // A hex key is also valid base64: earlier versions decoded it as base64, and so does this one.
    const hex = randomBytes(32).toString('hex');
    const sealer = createPrivateJwkSealer(hex);
    const key = Buffer.from(
      hkdfSync(
        'sha256',
        Buffer.from(hex, 'base64'),
        'tokenwarden/master-key',
        'tokenwarden/signing-key/v1',
        32,
      ),
    );
    const stored = sealer.seal('kid-3', jwk);
    const bytes = Buffer.from(stored.slice('tw-sealed:v1:'.length), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12), { authTagLength: 16 });
    decipher.setAAD(Buffer.from('tw-sealed:v1:kid-3'));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    expect(
      JSON.parse(
        Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString(),
      ),
    ).toEqual(jwk);
  });

  it('fails clearly with a wrong master key, without one, or on a sealed key moved to another kid', () => {
    const sealed = createPrivateJwkSealer(MASTER_KEY).seal('kid-1', jwk);
    expect(() => createPrivateJwkSealer(OTHER_MASTER_KEY).open('kid-1', sealed)).toThrow(
      /TOKENWARDEN_MASTER_KEY cannot decrypt signing key kid-1/,
    );
    expect(() => createPrivateJwkSealer(undefined).open('kid-1', sealed)).toThrow(
      /encrypted at rest but TOKENWARDEN_MASTER_KEY is not set/,
    );
    expect(() => createPrivateJwkSealer(MASTER_KEY).open('kid-2', sealed)).toThrow(/cannot decrypt/);
  });

  it('reads plaintext rows written before the master key was set', () => {
    expect(createPrivateJwkSealer(MASTER_KEY).open('kid-1', JSON.stringify(jwk))).toEqual(jwk);
    expect(createPrivateJwkSealer(MASTER_KEY).isCurrent('kid-1', JSON.stringify(jwk))).toBe(false);
  });
});

describeEachDatabase('signing-key lifecycle', (suite) => {
  let clock: ManualClock;
  let db: Kysely<Database>;

  const storeOver = (options: { sealer?: PrivateJwkSealer; masterKey?: string } = {}) =>
    new SigningKeyStore(db, clock, {
      sealer: options.sealer ?? createPrivateJwkSealer(options.masterKey),
      accessTokenTtlSeconds: TTL,
    });
  const signerOver = (keyStore: SigningKeyStore) =>
    new JwsAccessTokenSigner({ keyStore, issuer: ISSUER, ttlSeconds: TTL });
  const uowOver = (masterKey?: string) =>
    new KyselyUnitOfWork(db, {
      signingKeys: { sealer: createPrivateJwkSealer(masterKey), accessTokenTtlSeconds: TTL },
    });
  const kidOf = (token: string) => decodeProtectedHeader(token).kid;
  const jwksKids = async (store: SigningKeyStore) => (await store.jwks()).keys.map((key) => key.kid);

  beforeEach(async () => {
    db = suite.db;
    clock = new ManualClock();
    await db.deleteFrom('signing_keys').execute();
  });

  it('rotate: the old key verifies its tokens until they have expired, then leaves the JWKS', async () => {
    const store = storeOver();
    await store.ensureActiveKey();
    const signer = signerOver(store);
    const old = await signer.sign(input, clock.now());
    const oldKid = kidOf(old.token);

    clock.advance(10);
    const rotation = await uowOver().run((repos) => repos.signingKeys.rotate(clock.now()));
    expect(rotation).toEqual({ previousKid: oldKid, newKid: expect.any(String), retiredKids: [] });
    await store.reload();

    const fresh = await signer.sign(input, clock.now());
    expect(kidOf(fresh.token)).toBe(rotation.newKid);
    expect((await signer.verify(old.token, clock.now())).ok).toBe(true);
    expect(await jwksKids(store)).toEqual([rotation.newKid, oldKid]);

    const listed = await uowOver().read((repos) => repos.signingKeys.list(clock.now()));
    expect(listed.map((key) => [key.kid, key.status])).toEqual([
      [rotation.newKid, 'active'],
      [oldKid, 'verifying'],
    ]);
    expect(listed[1]?.verifiesUntil).toEqual(new Date(clock.now().getTime() + TTL * 1000));

    // One TTL after it stopped signing, no token it signed can still be alive: it is gone, no reload needed.
    clock.advance(TTL);
    expect(await jwksKids(store)).toEqual([rotation.newKid]);
    const lapsed = await uowOver().read((repos) => repos.signingKeys.list(clock.now()));
    expect(lapsed[1]).toMatchObject({ kid: oldKid, status: 'retired', verifiesUntil: null });
    await store.reload();
    expect(await jwksKids(store)).toEqual([rotation.newKid]);
  });

  it('retire: tokens signed by the key are refused at once after reload', async () => {
    const store = storeOver();
    await store.ensureActiveKey();
    const signer = signerOver(store);
    const old = await signer.sign(input, clock.now());
    const { previousKid, newKid } = await uowOver().run((repos) => repos.signingKeys.rotate(clock.now()));
    const retirement = await uowOver().run((repos) => repos.signingKeys.retire(previousKid!, clock.now()));
    expect(retirement).toEqual({ outcome: 'retired', previousStatus: 'verifying', newKid: null });
    await store.reload();
    expect(await signer.verify(old.token, clock.now())).toEqual({ ok: false, reason: 'token_invalid' });
    expect(await jwksKids(store)).toEqual([newKid]);

    const again = await uowOver().run((repos) => repos.signingKeys.retire(previousKid!, clock.now()));
    expect(again).toEqual({ outcome: 'already_retired', retiredAt: clock.now() });
    expect(await uowOver().run((repos) => repos.signingKeys.retire('no-such-kid', clock.now()))).toEqual({
      outcome: 'not_found',
    });
  });

  it('refuses to retire the active key unless a replacement is made in the same transaction', async () => {
    const store = storeOver();
    await store.ensureActiveKey();
    const activeKid = (await store.signingKey()).kid;
    expect(await uowOver().run((repos) => repos.signingKeys.retire(activeKid, clock.now()))).toEqual({
      outcome: 'active_key',
    });
    const replaced = await uowOver().run((repos) =>
      repos.signingKeys.retire(activeKid, clock.now(), { replace: true }),
    );
    expect(replaced).toEqual({ outcome: 'retired', previousStatus: 'active', newKid: expect.any(String) });
    await store.reload();
    expect((await store.signingKey()).kid).toBe(replaced.outcome === 'retired' ? replaced.newKid : null);
    expect(await jwksKids(store)).toHaveLength(1);
  });

  it('rotate with retireOthers retires the active key and every verifying one', async () => {
    const store = storeOver();
    await store.ensureActiveKey();
    const first = (await store.signingKey()).kid;
    const second = (await uowOver().run((repos) => repos.signingKeys.rotate(clock.now()))).newKid;
    const third = await uowOver().run((repos) =>
      repos.signingKeys.rotate(clock.now(), { retireOthers: true }),
    );
    expect(third).toEqual({
      previousKid: second,
      newKid: expect.any(String),
      retiredKids: [first, second].sort(),
    });
    await store.reload();
    expect(await jwksKids(store)).toEqual([third.newKid]);
  });

  it('master key: private keys at rest are ciphertext, and a restart with the same key signs as before', async () => {
    const store = storeOver({ masterKey: MASTER_KEY });
    await store.ensureActiveKey();
    const { token } = await signerOver(store).sign(input, clock.now());
    await uowOver(MASTER_KEY).run((repos) => repos.signingKeys.rotate(clock.now()));
    const rows = await db.selectFrom('signing_keys').select(['private_jwk']).execute();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.private_jwk).toMatch(/^tw-sealed:v1:/);
      expect(row.private_jwk).not.toContain('"d"');
    }
    const restarted = storeOver({ masterKey: MASTER_KEY });
    await restarted.ensureActiveKey();
    expect((await signerOver(restarted).verify(token, clock.now())).ok).toBe(true);
    const fresh = await signerOver(restarted).sign(input, clock.now());
    expect((await signerOver(store).verify(fresh.token, clock.now())).ok).toBe(true);
  });

  it('master key: a wrong or missing one fails start-up with a message naming TOKENWARDEN_MASTER_KEY', async () => {
    await storeOver({ masterKey: MASTER_KEY }).ensureActiveKey();
    await expect(storeOver({ masterKey: OTHER_MASTER_KEY }).ensureActiveKey()).rejects.toThrow(
      /TOKENWARDEN_MASTER_KEY cannot decrypt signing key .*not the master key/,
    );
    await expect(storeOver().ensureActiveKey()).rejects.toThrow(/TOKENWARDEN_MASTER_KEY is not set/);
  });

  it('master key: plaintext keys written before it was set are re-sealed at start', async () => {
    await storeOver().ensureActiveKey();
    const before = await db
      .selectFrom('signing_keys')
      .select(['kid', 'private_jwk'])
      .executeTakeFirstOrThrow();
    expect(JSON.parse(before.private_jwk)).toHaveProperty('d');
    const sealed = storeOver({ masterKey: MASTER_KEY });
    await sealed.ensureActiveKey();
    const after = await db
      .selectFrom('signing_keys')
      .select(['kid', 'private_jwk'])
      .executeTakeFirstOrThrow();
    expect(after.kid).toBe(before.kid);
    expect(after.private_jwk).toMatch(/^tw-sealed:v1:/);
    expect((await sealed.signingKey()).kid).toBe(before.kid);
  });

  it('master key change: keys sealed under the previous key (or an old passphrase) are re-sealed at start', async () => {
    await storeOver({ masterKey: OTHER_MASTER_KEY }).ensureActiveKey();
    const before = await db
      .selectFrom('signing_keys')
      .select(['kid', 'private_jwk'])
      .executeTakeFirstOrThrow();
    // The row as an earlier version sealed it under a passphrase.
    const jwk = createPrivateJwkSealer(OTHER_MASTER_KEY).open(before.kid, before.private_jwk);
    const legacy = sealedByEarlierVersion(OLD_PASSPHRASE, before.kid, jwk);
    await db.updateTable('signing_keys').set({ private_jwk: legacy }).where('kid', '=', before.kid).execute();
    await expect(storeOver({ masterKey: MASTER_KEY }).ensureActiveKey()).rejects.toThrow(/cannot decrypt/);

    const moved = storeOver({ sealer: createPrivateJwkSealer(MASTER_KEY, OLD_PASSPHRASE) });
    await moved.ensureActiveKey();
    const after = await db
      .selectFrom('signing_keys')
      .select(['kid', 'private_jwk'])
      .executeTakeFirstOrThrow();
    expect(after.private_jwk).not.toBe(legacy);
    // From now on the new key alone opens it.
    const alone = storeOver({ masterKey: MASTER_KEY });
    await alone.ensureActiveKey();
    expect((await alone.signingKey()).kid).toBe(before.kid);
  });

  it('two stores on one database: the other sees a rotation after reload, or on the first unknown kid', async () => {
    const a = storeOver();
    const b = storeOver();
    await a.ensureActiveKey();
    await b.ensureActiveKey();
    const { newKid } = await uowOver().run((repos) => repos.signingKeys.rotate(clock.now()));
    await a.reload();
    const fresh = await signerOver(a).sign(input, clock.now());
    expect(kidOf(fresh.token)).toBe(newKid);

    // b has not heard of the rotation: the unknown kid makes it look once.
    expect((await b.signingKey()).kid).not.toBe(newKid);
    expect((await signerOver(b).verify(fresh.token, clock.now())).ok).toBe(true);
    expect((await b.signingKey()).kid).toBe(newKid);

    // A second rotation within the reload interval is found by an explicit reload only.
    const second = await uowOver().run((repos) => repos.signingKeys.rotate(clock.now()));
    await a.reload();
    const newer = await signerOver(a).sign(input, clock.now());
    expect(kidOf(newer.token)).toBe(second.newKid);
    expect(await signerOver(b).verify(newer.token, clock.now())).toEqual({
      ok: false,
      reason: 'token_invalid',
    });
    clock.advance(5);
    expect((await signerOver(b).verify(newer.token, clock.now())).ok).toBe(true);

    const third = await uowOver().run((repos) => repos.signingKeys.rotate(clock.now()));
    await b.reload();
    expect((await b.signingKey()).kid).toBe(third.newKid);
  });

  it('many tokens with unknown kids cost one reload per interval', async () => {
    const a = storeOver();
    await a.ensureActiveKey();
    const b = storeOver();
    await b.ensureActiveKey();
    await uowOver().run((repos) => repos.signingKeys.rotate(clock.now()));
    await a.reload();
    const tokens = await Promise.all(
      Array.from({ length: 20 }, () => signerOver(a).sign(input, clock.now())),
    );
    let reloads = 0;
    const reload = b.reload.bind(b);
    b.reload = async () => {
      reloads++;
      await reload();
    };
    const results = await Promise.all(tokens.map(({ token }) => signerOver(b).verify(token, clock.now())));
    expect(results.every((result) => result.ok)).toBe(true);
    expect(reloads).toBe(1);
  });
});
