import {
  base64url,
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import type { Kysely } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test/support/databases.js';
import { ManualClock } from '../../../test/support/manual-clock.js';
import type { AccessTokenInput } from '../../application/ports/access-token-signer.js';
import type { Database } from '../database/schema.js';
import { JwsAccessTokenSigner } from './jws-access-token-signer.js';
import { SigningKeyStore } from './signing-key-store.js';

const ISSUER = 'https://tokenwarden.test';
const NOW = new Date('2030-01-01T00:00:00Z');
const input: AccessTokenInput = { sub: 'user-1', sid: 'session-1', role: 'admin', ver: 3, gver: 7 };

describeEachDatabase('JwsAccessTokenSigner', (suite) => {
  let keyStore: SigningKeyStore;
  let signer: JwsAccessTokenSigner;

  beforeAll(async () => {
    keyStore = new SigningKeyStore(suite.db, new ManualClock(NOW));
    await keyStore.ensureActiveKey();
    signer = new JwsAccessTokenSigner({ keyStore, issuer: ISSUER });
  });

  /** Signs arbitrary claims with the store's real key, to reach the checks after the signature. */
  async function signRaw(
    claims: Record<string, unknown>,
    header: Record<string, unknown> = {},
    issuer = ISSUER,
  ): Promise<string> {
    const { kid, privateKey } = await keyStore.signingKey();
    const iat = Math.floor(NOW.getTime() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt', ...header })
      .setIssuer(issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 60)
      .sign(privateKey);
  }

  const validClaims = { sub: 'u', sid: 's', jti: 'j', role: 'user', ver: 1, gver: 1, aud: 'tokenwarden' };

  describe('sign and verify', () => {
    it('round-trips every claim', async () => {
      const { token, expiresIn } = await signer.sign(input, NOW);
      expect(expiresIn).toBe(900);
      const result = await signer.verify(token, NOW);
      const iat = NOW.getTime() / 1000;
      expect(result).toEqual({
        ok: true,
        claims: {
          ...input,
          jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
          iat,
          exp: iat + 900,
          clientId: 'tokenwarden',
        },
      });
    });

    it('signs client-credentials tokens that only verifyClient accepts, and user tokens it refuses', async () => {
      const clientId = '6f1c2b1e-2f5a-4c7e-9d7e-0a1b2c3d4e5f';
      const { token, expiresIn } = await signer.signClient(clientId, NOW);
      expect(expiresIn).toBe(900);
      const iat = NOW.getTime() / 1000;
      expect(await signer.verifyClient(token, NOW)).toEqual({
        ok: true,
        claims: { clientId, jti: expect.any(String), iat, exp: iat + 900 },
      });
      expect(decodeJwt(token)).toMatchObject({ sub: clientId, client_id: clientId, aud: ISSUER });
      expect(await signer.verify(token, NOW)).toEqual({ ok: false, reason: 'token_invalid' });
      const user = await signer.sign(input, NOW);
      expect(await signer.verifyClient(user.token, NOW)).toEqual({ ok: false, reason: 'token_invalid' });
      expect(await signer.verifyClient(token, new Date(NOW.getTime() + 901_000))).toEqual({
        ok: false,
        reason: 'token_expired',
      });
    });

    it('writes the EdDSA header with the key id and the at+jwt type', async () => {
      const { token } = await signer.sign(input, NOW);
      expect(decodeProtectedHeader(token)).toEqual({
        alg: 'EdDSA',
        kid: (await keyStore.signingKey()).kid,
        typ: 'at+jwt',
      });
    });

    it('writes, byte for byte, the token jose SignJWT wrote for the same claims (Ed25519 is deterministic)', async () => {
      const fixed = new JwsAccessTokenSigner({ keyStore, issuer: ISSUER, ids: { id: () => 'jti-1' } });
      const { kid, privateKey } = await keyStore.signingKey();
      const iat = Math.floor(NOW.getTime() / 1000);
      const byJose = await new SignJWT({
        client_id: 'tokenwarden',
        sid: input.sid,
        role: input.role,
        ver: 3,
        gver: 7,
      })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience('tokenwarden')
        .setSubject(input.sub)
        .setJti('jti-1')
        .setIssuedAt(iat)
        .setExpirationTime(iat + 900)
        .sign(privateKey);
      expect((await fixed.sign(input, NOW)).token).toBe(byJose);
      const clientByJose = await new SignJWT({ client_id: 'svc' })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience(ISSUER)
        .setSubject('svc')
        .setJti('jti-1')
        .setIssuedAt(iat)
        .setExpirationTime(iat + 900)
        .sign(privateKey);
      expect((await fixed.signClient('svc', NOW)).token).toBe(clientByJose);
    });

    it('issues tokens jose jwtVerify accepts under the published JWKS', async () => {
      const { token } = await signer.sign(input, NOW);
      const { payload, protectedHeader } = await jwtVerify(
        token,
        createLocalJWKSet({ keys: [...(await keyStore.jwks()).keys] }),
        {
          algorithms: ['EdDSA'],
          issuer: ISSUER,
          audience: 'tokenwarden',
          typ: 'at+jwt',
          currentDate: NOW,
        },
      );
      expect(protectedHeader.kid).toBe((await keyStore.signingKey()).kid);
      expect(payload).toMatchObject({ sub: input.sub, sid: input.sid, ver: 3, gver: 7 });
    });

    it('refuses a token whose signature is padded or spelled non-canonically (one token, one spelling)', async () => {
      const { token } = await signer.sign(input, NOW);
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      // The last character's 4 low bits are unused: flipping one decodes to the same signature.
      const sibling = alphabet[alphabet.indexOf(token.at(-1) as string) ^ 1];
      for (const variant of [`${token}==`, `${token.slice(0, -1)}${sibling}`, ` ${token}`, `${token}.`]) {
        expect(await signer.verify(variant, NOW)).toEqual({ ok: false, reason: 'token_invalid' });
      }
      expect((await signer.verify(token, NOW)).ok).toBe(true);
    });

    it('gives every token its own jti', async () => {
      const first = await signer.verify((await signer.sign(input, NOW)).token, NOW);
      const second = await signer.verify((await signer.sign(input, NOW)).token, NOW);
      expect(first.ok && second.ok && first.claims.jti !== second.claims.jti).toBe(true);
    });

    it('honours a configured TTL and id source', async () => {
      const custom = new JwsAccessTokenSigner({
        keyStore,
        issuer: ISSUER,
        ttlSeconds: 60,
        ids: { id: () => 'fixed-jti' },
      });
      const { token, expiresIn } = await custom.sign(input, new Date(NOW.getTime() + 999));
      expect(expiresIn).toBe(60);
      const result = await custom.verify(token, NOW);
      expect(result.ok && result.claims).toMatchObject({
        jti: 'fixed-jti',
        exp: result.ok ? result.claims.iat + 60 : 0,
      });
    });

    it('writes aud, "tokenwarden" unless configured', async () => {
      const aud = (token: string) =>
        JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).aud;
      expect(aud((await signer.sign(input, NOW)).token)).toBe('tokenwarden');
      const custom = new JwsAccessTokenSigner({ keyStore, issuer: ISSUER, audience: 'https://api.test' });
      const { token } = await custom.sign(input, NOW);
      expect(aud(token)).toBe('https://api.test');
      expect((await custom.verify(token, NOW)).ok).toBe(true);
    });

    it('never lets exp pass notAfter (the session end), and says so in expiresIn', async () => {
      const iat = NOW.getTime() / 1000;
      const soon = await signer.sign(input, NOW, new Date(NOW.getTime() + 60_500));
      expect(soon.expiresIn).toBe(60);
      const verified = await signer.verify(soon.token, NOW);
      expect(verified.ok && verified.claims.exp).toBe(iat + 60);
      // A later limit leaves the TTL alone.
      expect((await signer.sign(input, NOW, new Date(NOW.getTime() + 3_600_000))).expiresIn).toBe(900);
    });

    it('rejects a non-positive TTL at construction', () => {
      expect(() => new JwsAccessTokenSigner({ keyStore, issuer: ISSUER, ttlSeconds: 0 })).toThrow(/TTL/);
    });
  });

  describe('verified-token memory', () => {
    it('answers a token it verified before from memory, and forgets it when its key is retired', async () => {
      const fresh = await suite.create();
      try {
        const clock = new ManualClock(NOW);
        const store = new SigningKeyStore(fresh.db, clock);
        await store.ensureActiveKey();
        const own = new JwsAccessTokenSigner({ keyStore: store, issuer: ISSUER });
        const { token } = await own.sign(input, NOW);
        const first = await own.verify(token, NOW);
        expect(first.ok).toBe(true);
        // Remembered: the very same claims object comes back without a second verify.
        const second = await own.verify(token, NOW);
        expect(second.ok && first.ok && second.claims === first.claims).toBe(true);
        // A token differing in one character is not the remembered one. The signature's
        // first character, not its last: the last one's low bits are base64url padding,
        // which decoders ignore, so changing them can leave the same signature (a flake).
        const signatureAt = token.lastIndexOf('.') + 1;
        const swapped = token[signatureAt] === 'A' ? 'B' : 'A';
        const altered = `${token.slice(0, signatureAt)}${swapped}${token.slice(signatureAt + 1)}`;
        expect((await own.verify(altered, NOW)).ok).toBe(false);

        await retireActiveKey(fresh.db, store);
        expect(await own.verify(token, NOW)).toEqual({ ok: false, reason: 'token_invalid' });
      } finally {
        await fresh.close();
      }
    });
  });

  describe('tokens this signer wrote', () => {
    it('are believed without a signature check, and only those: a twin signer with the same key is checked', async () => {
      // A store that hands out the real signing key but no verification key: only
      // remembered tokens can pass, anything else fails at the key lookup.
      const empty = Object.freeze({ keys: Object.freeze([]), byKid: new Map() });
      const blind = {
        signingKey: () => keyStore.signingKey(),
        verificationKeySet: async () => empty,
        reloadForUnknownKid: async () => false,
      } as unknown as SigningKeyStore;
      const own = new JwsAccessTokenSigner({ keyStore: blind, issuer: ISSUER });
      const twin = new JwsAccessTokenSigner({ keyStore: blind, issuer: ISSUER });
      const { token } = await own.sign(input, NOW);
      const mine = await own.verify(token, NOW);
      expect(mine.ok && mine.claims).toMatchObject({ ...input, clientId: 'tokenwarden' });
      expect(await twin.verify(token, NOW)).toEqual({ ok: false, reason: 'token_invalid' });
      // Still only until its exp.
      expect(await own.verify(token, new Date(NOW.getTime() + 900_000))).toEqual({
        ok: false,
        reason: 'token_expired',
      });
    });

    it("are forgotten when the key set changes (a retired key's tokens are refused at once)", async () => {
      const fresh = await suite.create();
      try {
        const store = new SigningKeyStore(fresh.db, new ManualClock(NOW));
        await store.ensureActiveKey();
        const own = new JwsAccessTokenSigner({ keyStore: store, issuer: ISSUER });
        const { token } = await own.sign(input, NOW);
        await retireActiveKey(fresh.db, store);
        expect(await own.verify(token, NOW)).toEqual({ ok: false, reason: 'token_invalid' });
      } finally {
        await fresh.close();
      }
    });
  });

  describe("tokens of the key that signs now, from another instance's signer", () => {
    /**
     * A store whose public key for the signing kid is some other key: a verify refuses
     * every token under it, so a token that passes was checked by signing it again.
     */
    async function misleadingStore(): Promise<SigningKeyStore> {
      const signing = await keyStore.signingKey();
      const { publicKey: stranger } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      const { KeyObject } = await import('node:crypto');
      const set = Object.freeze({
        keys: Object.freeze([]),
        byKid: new Map([[signing.kid, KeyObject.from(stranger as CryptoKey)]]),
        signing,
      });
      return {
        signingKey: async () => signing,
        verificationKeySet: async () => set,
        reloadForUnknownKid: async () => false,
      } as unknown as SigningKeyStore;
    }

    it('are checked by signing their input again (Ed25519 is deterministic), not by a verify', async () => {
      const { token } = await signer.sign(input, NOW);
      const other = new JwsAccessTokenSigner({ keyStore: await misleadingStore(), issuer: ISSUER });
      const result = await other.verify(token, NOW);
      expect(result.ok && result.claims).toMatchObject(input);
    });

    it('are refused when the signature is not the one signing again gives, unless a verify accepts it', async () => {
      const { token } = await signer.sign(input, NOW);
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const bytes = Buffer.from(signature, 'base64url');
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      const tampered = `${header}.${payload}.${bytes.toString('base64url')}`;
      const other = new JwsAccessTokenSigner({ keyStore: await misleadingStore(), issuer: ISSUER });
      expect(await other.verify(tampered, NOW)).toEqual({ ok: false, reason: 'token_invalid' });
      // With the true public key the fallback verify runs, and refuses it too.
      const twin = new JwsAccessTokenSigner({ keyStore, issuer: ISSUER });
      expect(await twin.verify(tampered, NOW)).toEqual({ ok: false, reason: 'token_invalid' });
      expect((await twin.verify(token, NOW)).ok).toBe(true);
    });
  });

  describe('expiry', () => {
    it('accepts a token until its last second and reports token_expired after', async () => {
      const { token } = await signer.sign(input, NOW);
      expect((await signer.verify(token, new Date(NOW.getTime() + 899_999))).ok).toBe(true);
      expect(await signer.verify(token, new Date(NOW.getTime() + 900_000))).toEqual({
        ok: false,
        reason: 'token_expired',
      });
    });

    it('calls an expired token from a stranger invalid, not expired', async () => {
      const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const token = await new SignJWT(validClaims)
        .setProtectedHeader({ alg: 'EdDSA', kid: (await keyStore.signingKey()).kid, typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setIssuedAt(0)
        .setExpirationTime(1)
        .sign(stranger.privateKey);
      expect(await signer.verify(token, NOW)).toEqual({ ok: false, reason: 'token_invalid' });
    });
  });

  describe('rejects as token_invalid', () => {
    const invalid = { ok: false, reason: 'token_invalid' };

    it.each(['', 'garbage', 'a.b.c', 'a.b', '...', 'twr_abc', `${'x'.repeat(10_000)}`])(
      'the garbage %j',
      async (garbage) => {
        expect(await signer.verify(garbage, NOW)).toEqual(invalid);
      },
    );

    it('an unsecured (alg none) token', async () => {
      const token = new UnsecuredJWT(validClaims)
        .setIssuer(ISSUER)
        .setIssuedAt(Math.floor(NOW.getTime() / 1000))
        .setExpirationTime('5m')
        .encode();
      expect(await signer.verify(token, NOW)).toEqual(invalid);
    });

    it('a token signed by another Ed25519 key, under our kid or its own', async () => {
      const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const strangerKid = await calculateJwkThumbprint(await exportJWK(stranger.publicKey));
      for (const kid of [(await keyStore.signingKey()).kid, strangerKid, undefined]) {
        const token = await new SignJWT(validClaims)
          .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', ...(kid === undefined ? {} : { kid }) })
          .setIssuer(ISSUER)
          .setIssuedAt(Math.floor(NOW.getTime() / 1000))
          .setExpirationTime('5m')
          .sign(stranger.privateKey);
        expect(await signer.verify(token, NOW)).toEqual(invalid);
      }
    });

    it('an HMAC token keyed with our public key (algorithm confusion)', async () => {
      const [jwk] = (await keyStore.jwks()).keys;
      const token = await new SignJWT(validClaims)
        .setProtectedHeader({ alg: 'HS256', kid: jwk!.kid, typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setIssuedAt(Math.floor(NOW.getTime() / 1000))
        .setExpirationTime('5m')
        .sign(base64url.decode(jwk!.x));
      expect(await signer.verify(token, NOW)).toEqual(invalid);
    });

    it('a token whose payload was altered', async () => {
      const { token } = await signer.sign({ ...input, role: 'user' }, NOW);
      const [header, payload, signature] = token.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
      expect(await signer.verify(`${header}.${forged}.${signature}`, NOW)).toEqual(invalid);
    });

    it('a token whose signature was altered', async () => {
      const { token } = await signer.sign(input, NOW);
      const last = token.at(-2) === 'A' ? 'B' : 'A';
      expect(await signer.verify(`${token.slice(0, -2)}${last}${token.at(-1)}`, NOW)).toEqual(invalid);
    });

    it('a token from another issuer', async () => {
      expect(await signer.verify(await signRaw(validClaims, {}, 'https://evil.test'), NOW)).toEqual(invalid);
      const other = new JwsAccessTokenSigner({ keyStore, issuer: 'https://other.test' });
      expect(await signer.verify((await other.sign(input, NOW)).token, NOW)).toEqual(invalid);
    });

    it('a token for another audience, or for none', async () => {
      expect(await signer.verify(await signRaw({ ...validClaims, aud: 'other' }), NOW)).toEqual(invalid);
      expect(await signer.verify(await signRaw({ ...validClaims, aud: undefined }), NOW)).toEqual(invalid);
      const other = new JwsAccessTokenSigner({ keyStore, issuer: ISSUER, audience: 'other' });
      expect(await signer.verify((await other.sign(input, NOW)).token, NOW)).toEqual(invalid);
    });

    it.each([{ typ: 'JWT' }, { typ: 'id_token+jwt' }])('a token with header %j', async (header) => {
      expect(await signer.verify(await signRaw(validClaims, header), NOW)).toEqual(invalid);
    });

    it.each([
      ['without sub', { ...validClaims, sub: undefined }],
      ['without sid', { ...validClaims, sid: undefined }],
      ['without jti', { ...validClaims, jti: undefined }],
      ['without ver', { ...validClaims, ver: undefined }],
      ['without gver', { ...validClaims, gver: undefined }],
      ['without role', { ...validClaims, role: undefined }],
      ['with role root', { ...validClaims, role: 'root' }],
      ['with a numeric sid', { ...validClaims, sid: 42 }],
      ['with ver 0', { ...validClaims, ver: 0 }],
      ['with a negative gver', { ...validClaims, gver: -1 }],
      ['with a fractional ver', { ...validClaims, ver: 1.5 }],
      ['with a string gver', { ...validClaims, gver: '1' }],
    ])('a well-signed token %s', async (_name, claims) => {
      expect(await signer.verify(await signRaw(claims), NOW)).toEqual(invalid);
    });

    it('a well-signed token with every claim right is accepted (control for the cases above)', async () => {
      expect((await signer.verify(await signRaw(validClaims), NOW)).ok).toBe(true);
    });
  });
});

/** Retires the store's active key in the database and reloads the store, as a retirement elsewhere would. */
async function retireActiveKey(db: Kysely<Database>, store: SigningKeyStore): Promise<void> {
  const { kid } = await store.signingKey();
  await db
    .updateTable('signing_keys')
    .set({ status: 'retired', retired_at: NOW })
    .where('kid', '=', kid)
    .execute();
  await store.reload();
}
