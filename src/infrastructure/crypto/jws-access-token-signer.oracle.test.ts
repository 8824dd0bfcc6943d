/**
 * The signer's verification (`@tokenwarden/jws` with the server's keys, its sign-again path
 * and its claim shapes) against jose's `jwtVerify` as the oracle (what verified tokens
 * before): for mutated and re-signed tokens, it refuses everything jose refuses, calls
 * expired what jose calls expired, and accepts what jose accepts, except where it is
 * stricter on purpose (see `deliberatelyStricter`). The module alone, with a public key
 * only, is held to jose in packages/jws/src/verify-jws.oracle.test.ts.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { MAX_COMPACT_JWS_LENGTH, MAX_PROTECTED_HEADER_LENGTH } from '@tokenwarden/jws';
import fc from 'fast-check';
import { createLocalJWKSet, errors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase, testDatabases } from '../../../test/support/databases.js';
import { ManualClock } from '../../../test/support/manual-clock.js';
import { JwsAccessTokenSigner } from './jws-access-token-signer.js';
import { SigningKeyStore } from './signing-key-store.js';

const ISSUER = 'https://tokenwarden.test';
const AUDIENCE = 'tokenwarden';
const NOW = new Date('2030-01-01T00:00:00Z');
const NOW_S = NOW.getTime() / 1000;
const RUNS = 400;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

type Outcome = 'ok' | 'token_invalid' | 'token_expired';

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url');
const canonical = (part: string) =>
  /^[A-Za-z0-9_-]+$/.test(part) && Buffer.from(part, 'base64url').toString('base64url') === part;

/** The refusals jose lets through and this verifier does not; each is named in the signer's doc. */
function deliberatelyStricter(token: string): boolean {
  const parts = token.split('.');
  if (token.length > MAX_COMPACT_JWS_LENGTH || parts.length !== 3) return true;
  const [header = '', , signature = ''] = parts;
  if (header.length > MAX_PROTECTED_HEADER_LENGTH || signature.length !== 86) return true;
  if (!parts.every(canonical)) return true;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>;
  } catch {
    return false;
  }
  return typeof parsed?.kid !== 'string' || parsed.crit !== undefined;
}

/** The claim shapes tokenwarden has always required after jose's checks (docs/DESIGN.md §4). */
function wellShaped(claims: Record<string, unknown>): boolean {
  const text = (v: unknown) => typeof v === 'string' && v.length > 0;
  const positive = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  return (
    (claims.client_id === undefined || text(claims.client_id)) &&
    text(claims.sub) &&
    text(claims.sid) &&
    text(claims.jti) &&
    (claims.role === 'user' || claims.role === 'admin') &&
    positive(claims.ver) &&
    positive(claims.gver) &&
    Number.isSafeInteger(claims.iat) &&
    Number.isSafeInteger(claims.exp)
  );
}

describe.each(['EdDSA', 'ES256'] as const)(
  'JwsAccessTokenSigner with %s keys against jose jwtVerify (oracle)',
  (alg) => {
    let database: TestDatabase;
    let keyStore: SigningKeyStore;
    let signer: JwsAccessTokenSigner;
    let ourKid: string;
    let ourKey: KeyObject;
    let jwks: ReturnType<typeof createLocalJWKSet>;
    const stranger =
      alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        : generateKeyPairSync('ed25519');

    beforeAll(async () => {
      const [pglite] = testDatabases();
      database = await pglite!.create();
      keyStore = new SigningKeyStore(database.db, new ManualClock(NOW), { algorithm: alg });
      await keyStore.ensureActiveKey();
      signer = new JwsAccessTokenSigner({ keyStore, issuer: ISSUER });
      const active = await keyStore.signingKey();
      ourKid = active.kid;
      ourKey = active.privateKey;
      jwks = createLocalJWKSet({ keys: [...(await keyStore.jwks()).keys] });
      // Sanity: the two keys of the test are what they claim to be.
      expect(createPublicKey(ourKey).asymmetricKeyType).toBe(alg === 'ES256' ? 'ec' : 'ed25519');
    });
    afterAll(async () => {
      await database?.close();
    });

    async function oracle(token: string): Promise<{ outcome: Outcome; claims?: Record<string, unknown> }> {
      try {
        const { payload } = await jwtVerify(token, jwks, {
          algorithms: ['EdDSA', 'ES256'],
          issuer: ISSUER,
          audience: AUDIENCE,
          typ: 'at+jwt',
          currentDate: NOW,
          requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp', 'role', 'ver', 'gver'],
        });
        return { outcome: 'ok', claims: payload as Record<string, unknown> };
      } catch (error) {
        return { outcome: error instanceof errors.JWTExpired ? 'token_expired' : 'token_invalid' };
      }
    }

    async function agree(token: string): Promise<void> {
      const expected = await oracle(token);
      const actual = await signer.verify(token, NOW);
      const outcome: Outcome = actual.ok ? 'ok' : actual.reason;
      if (deliberatelyStricter(token)) {
        // A spelling refused on purpose is invalid even where jose would call it expired.
        expect(outcome, token).toBe('token_invalid');
      } else if (expected.outcome !== 'ok') {
        expect(outcome, token).toBe(expected.outcome);
      } else if (!wellShaped(expected.claims ?? {})) {
        expect(outcome, token).toBe('token_invalid');
      } else {
        expect(outcome, token).toBe('ok');
      }
    }

    /** Signs as the key's type does (ES256's R || S for a P-256 key), whatever the header says. */
    function signWith(key: KeyObject, header: unknown, claims: unknown): string {
      const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
      const signature =
        key.asymmetricKeyType === 'ec'
          ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
          : sign(null, Buffer.from(input), key);
      return `${input}.${b64(signature)}`;
    }

    const weird = fc.constantFrom('\u0000', '\u202e', '\u200f', '\ufeff', ' ', '\n', 'é');
    const weirdString = fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.tuple(fc.string({ maxLength: 4 }), weird, fc.string({ maxLength: 4 })).map((t) => t.join('')),
    );
    const base64urlChar = fc.constantFrom(...ALPHABET.split(''));

    it('agrees on byte-level mutations of a genuine token (flips, inserts, padding, extra parts, huge parts)', async () => {
      const { token } = await signer.sign({ sub: 'u', sid: 's', role: 'user', ver: 1, gver: 1 }, NOW);
      const mutation = fc.oneof(
        fc
          .tuple(fc.nat(token.length - 1), fc.oneof(base64urlChar, fc.constantFrom('=', '+', '/', '.', ' ')))
          .map(([at, c]) => `${token.slice(0, at)}${c}${token.slice(at + 1)}`),
        fc
          .tuple(fc.nat(token.length), fc.oneof(base64urlChar, weird, fc.constantFrom('=', '.')))
          .map(([at, c]) => `${token.slice(0, at)}${c}${token.slice(at)}`),
        fc.nat(token.length - 1).map((at) => `${token.slice(0, at)}${token.slice(at + 1)}`),
        fc.constantFrom('=', '==', '.', '.x', '.AAAA', ' ').map((tail) => `${token}${tail}`),
        fc.constantFrom(0, 1, 2).map((part) =>
          token
            .split('.')
            .map((p, i) => (i === part ? `${p}==` : p))
            .join('.'),
        ),
        fc.integer({ min: 1, max: 3 }).map((n) => `${token}${'A'.repeat(n * 4096)}`),
        // The signature's last character carries 4 unused bits: 15 spellings decode alike.
        fc.integer({ min: 1, max: 15 }).map((d) => {
          const index = ALPHABET.indexOf(token.at(-1) ?? 'A');
          return `${token.slice(0, -1)}${ALPHABET[index ^ d]}`;
        }),
        fc.constantFrom(token.split('.').slice(0, 2).join('.'), `${token.split('.').slice(0, 2).join('.')}.`),
      );
      await fc.assert(fc.asyncProperty(mutation, agree), { numRuns: RUNS });
      // Control: the genuine token is accepted by both.
      expect((await oracle(token)).outcome).toBe('ok');
      expect((await signer.verify(token, NOW)).ok).toBe(true);
    });

    it('agrees on tokens re-signed with altered headers and claims (alg, kid, typ, crit, times, aud, iss)', async () => {
      // A genuine header and claims set with up to three fields changed (or removed):
      // most cases sit next to acceptance, where a wrong check would show.
      const headerEdits = fc.array(
        fc.oneof(
          fc.tuple(
            fc.constant('alg'),
            fc.constantFrom('Ed25519', 'none', 'HS256', 'ES256', 'EdDSA', 'ES384', 'eddsa', undefined),
          ),
          fc.tuple(
            fc.constant('kid'),
            fc.oneof(
              fc.constantFrom(undefined, null, 42),
              weirdString.map((s) => `ours${s}`),
              weirdString,
            ),
          ),
          fc.tuple(
            fc.constant('typ'),
            fc.constantFrom(
              'AT+JWT',
              'application/at+jwt',
              'JWT',
              'jwt',
              'at+jwt ',
              'application/AT+JWT',
              undefined,
              1,
            ),
          ),
          fc.tuple(fc.constant('crit'), fc.constantFrom(['b64'], ['exp'], [], 'b64')),
          fc.tuple(fc.constant('b64'), fc.constantFrom(true, false)),
          fc.tuple(fc.constant('x5u'), weirdString),
        ),
        { maxLength: 3 },
      );
      const time = fc.oneof(
        fc.integer({ min: NOW_S - 3, max: NOW_S + 3 }),
        fc.constantFrom('1', null, 1.5, 1e308, -1, undefined),
      );
      const claimEdits = fc.array(
        fc.oneof(
          fc.tuple(
            fc.constant('iss'),
            fc.constantFrom(`${ISSUER}/`, 'https://evil.test', undefined, [ISSUER]),
          ),
          fc.tuple(
            fc.constant('aud'),
            fc.constantFrom([AUDIENCE], ['other', AUDIENCE], 'other', [], undefined, 1),
          ),
          fc.tuple(fc.constant('sub'), fc.oneof(fc.constantFrom('', undefined, 1), weirdString)),
          fc.tuple(fc.constant('sid'), fc.constantFrom('', undefined, 7)),
          fc.tuple(fc.constant('jti'), fc.constantFrom('', undefined)),
          fc.tuple(fc.constant('role'), fc.constantFrom('admin', 'root', undefined)),
          fc.tuple(fc.constant('ver'), fc.constantFrom(2, 0, -1, 1.5, '1', undefined)),
          fc.tuple(fc.constant('gver'), fc.constantFrom(0, undefined)),
          fc.tuple(fc.constantFrom('iat', 'exp', 'nbf'), time),
          fc.tuple(fc.constant('client_id'), fc.constantFrom('', 5, undefined)),
        ),
        { maxLength: 3 },
      );
      const edit = (base: Record<string, unknown>, edits: readonly (readonly [string, unknown])[]) => {
        const edited: Record<string, unknown> = { ...base };
        for (const [name, value] of edits) edited[name] = value;
        return edited;
      };
      const key = fc.constantFrom('ours', 'ours', 'ours', 'stranger');
      await fc.assert(
        fc.asyncProperty(headerEdits, claimEdits, key, async (h, c, k) => {
          const header = edit({ alg, kid: ourKid, typ: 'at+jwt' }, h);
          const claims = edit(
            { iss: ISSUER, aud: AUDIENCE, sub: 'u', sid: 's', jti: 'j', role: 'user', ver: 1, gver: 1 },
            [['iat', NOW_S], ['exp', NOW_S + 60], ...c],
          );
          const token = signWith(k === 'ours' ? ourKey : stranger.privateKey, header, claims);
          await agree(token);
          // alg none: the same header and claims, no signature.
          await agree(`${token.slice(0, token.lastIndexOf('.'))}.`);
        }),
        { numRuns: RUNS },
      );
    });

    it('agrees at every time boundary: iat, nbf and exp each a second before, at or after now, or absent', async () => {
      const good = {
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'u',
        sid: 's',
        jti: 'j',
        role: 'user',
        ver: 1,
        gver: 1,
      };
      const times = [NOW_S - 1, NOW_S, NOW_S + 1, undefined];
      let accepted = 0;
      for (const iat of times) {
        for (const nbf of times) {
          for (const exp of times) {
            const token = signWith(ourKey, { alg, kid: ourKid, typ: 'at+jwt' }, { ...good, iat, nbf, exp });
            await agree(token);
            if ((await oracle(token)).outcome === 'ok') accepted++;
          }
        }
      }
      // iat and exp are required: nbf absent, at or before now, exp after now.
      expect(accepted).toBe(3 * 3);
    });

    it('accepts what jose accepts for every well-formed variant the contract allows (no false refusals)', async () => {
      // The variants above reach acceptance rarely: these do on purpose.
      const good = {
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'u',
        sid: 's',
        jti: 'j',
        role: 'user',
        ver: 1,
        gver: 1,
      };
      const headers = [
        { alg, kid: ourKid, typ: 'at+jwt' },
        { typ: 'AT+JWT', kid: ourKid, alg },
        { alg, kid: ourKid, typ: 'application/at+jwt', extra: '\u202e' },
      ];
      const claimSets = [
        { ...good, iat: NOW_S, exp: NOW_S + 1 },
        { ...good, aud: ['x', AUDIENCE], iat: NOW_S + 60, exp: NOW_S + 900, nbf: NOW_S },
        { ...good, iat: NOW_S, exp: NOW_S + 5, client_id: 'web', unknown: { nested: [1] } },
      ];
      for (const header of headers) {
        for (const claims of claimSets) {
          const token = signWith(ourKey, header, claims);
          expect((await oracle(token)).outcome).toBe('ok');
          await agree(token);
        }
      }
    });
  },
);
