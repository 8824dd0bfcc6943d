import { decodeProtectedHeader } from 'jose';
import type { Kysely } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test/support/databases.js';
import { ManualClock } from '../../../test/support/manual-clock.js';
import type { AccessTokenInput } from '../../application/ports/access-token-signer.js';
import { KyselyUnitOfWork } from '../database/repositories/kysely-unit-of-work.js';
import type { Database } from '../database/schema.js';
import { JoseAccessTokenSigner } from './jose-access-token-signer.js';
import { createPrivateJwkSealer, type PrivateJwkSealer } from './private-jwk-sealer.js';
import { SigningKeyStore } from './signing-key-store.js';

const ISSUER = 'https://tokenwarden.test';
const TTL = 900;
const input: AccessTokenInput = { sub: 'user-1', sid: 'session-1', role: 'user', ver: 1, gver: 1 };
const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
const OTHER_MASTER_KEY = Buffer.alloc(32, 8).toString('base64url');

describe('private JWK sealer', () => {
  const jwk = { kty: 'OKP', crv: 'Ed25519', x: 'x', d: 'secret-part' };

  it('stores plaintext JSON without a master key, and a versioned ciphertext with one', () => {
    expect(createPrivateJwkSealer(undefined).seal('kid-1', jwk)).toBe(JSON.stringify(jwk));
    const sealed = createPrivateJwkSealer(MASTER_KEY).seal('kid-1', jwk);
    expect(sealed).toMatch(/^tw-sealed:v1:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('secret-part');
    expect(createPrivateJwkSealer(MASTER_KEY).open('kid-1', sealed)).toEqual(jwk);
  });

  it('accepts a long passphrase as well as base64 key bytes', () => {
    const sealer = createPrivateJwkSealer('correct horse battery staple, but longer');
    expect(sealer.open('kid-1', sealer.seal('kid-1', jwk))).toEqual(jwk);
  });

  it('refuses a short master key, naming the variable', () => {
    expect(() => createPrivateJwkSealer('too short')).toThrow(/TOKENWARDEN_MASTER_KEY/);
    expect(() => createPrivateJwkSealer(Buffer.alloc(16).toString('base64'))).toThrow(/at least 32/);
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
    expect(createPrivateJwkSealer(MASTER_KEY).isCurrent(JSON.stringify(jwk))).toBe(false);
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
    new JoseAccessTokenSigner({ keyStore, issuer: ISSUER, ttlSeconds: TTL });
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
