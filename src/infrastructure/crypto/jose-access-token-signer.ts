import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type {
  AccessTokenClaims,
  AccessTokenInput,
  AccessTokenSigner,
  VerifyFailure,
} from '../../application/ports/access-token-signer.js';
import type { TokenGenerator } from '../../application/ports/token-generator.js';
import { type PublicSigningJwk, SIGNING_ALGORITHM, type SigningKeyStore } from './signing-key-store.js';

/** Access tokens live 15 minutes unless configured otherwise. */
const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 900;

/** The `aud` written and required unless configured otherwise (`TOKENWARDEN_AUDIENCE`). */
const DEFAULT_ACCESS_TOKEN_AUDIENCE = 'tokenwarden';

const ACCESS_TOKEN_TYPE = 'at+jwt';
const VERIFIED_CACHE_MAX_ENTRIES = 10_000;

export interface JoseAccessTokenSignerOptions {
  readonly keyStore: SigningKeyStore;
  /** The `iss` claim written and required. */
  readonly issuer: string;
  /** The `aud` claim written and required; {@link DEFAULT_ACCESS_TOKEN_AUDIENCE} by default. */
  readonly audience?: string;
  readonly ttlSeconds?: number;
  /** Source of `jti` values; a random UUID by default. */
  readonly ids?: Pick<TokenGenerator, 'id'>;
}

type VerifyResult =
  | { readonly ok: true; readonly claims: AccessTokenClaims }
  | { readonly ok: false; readonly reason: VerifyFailure };

const INVALID: VerifyResult = Object.freeze({ ok: false, reason: 'token_invalid' });
const EXPIRED: VerifyResult = Object.freeze({ ok: false, reason: 'token_expired' });
const NO_MATCHING_KEY = Symbol('no matching key');

/**
 * Signs and verifies access tokens as EdDSA (Ed25519) JWTs with `typ: at+jwt`.
 *
 * @example
 * const signer = new JoseAccessTokenSigner({ keyStore, issuer: 'https://auth.example.com', audience: 'api' });
 * const { token } = await signer.sign({ sub, sid, role: 'user', ver: 1, gver: 1 }, clock.now());
 * const result = await signer.verify(token, clock.now()); // { ok: true, claims }
 */
export class JoseAccessTokenSigner implements AccessTokenSigner {
  private readonly keyStore: SigningKeyStore;
  private readonly issuer: string;
  private readonly audience: string;
  private readonly ttlSeconds: number;
  private readonly newId: () => string;
  private keySet:
    | { readonly source: readonly PublicSigningJwk[]; readonly jwks: ReturnType<typeof createLocalJWKSet> }
    | undefined;
  /**
   * Tokens that verified, by their exact text, while the key set they verified under
   * is unchanged (a rotation, retirement, reload or the end of a verifying window hands
   * out a new set and empties this). A client presents the same access token for its
   * whole life, so the EdDSA verify (~230 µs through WebCrypto) runs once per token.
   */
  private readonly verified = new Map<string, AccessTokenClaims>();
  private verifiedUnder: readonly PublicSigningJwk[] | undefined;

  constructor(options: JoseAccessTokenSignerOptions) {
    const ttl = options.ttlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
    if (!Number.isSafeInteger(ttl) || ttl <= 0) {
      throw new Error(`Access token TTL must be a positive whole number of seconds, got ${ttl}`);
    }
    this.keyStore = options.keyStore;
    this.issuer = options.issuer;
    this.audience = options.audience ?? DEFAULT_ACCESS_TOKEN_AUDIENCE;
    this.ttlSeconds = ttl;
    const ids = options.ids;
    this.newId = ids === undefined ? randomUUID : () => ids.id();
  }

  async sign(
    input: AccessTokenInput,
    now: Date,
    notAfter?: Date,
  ): Promise<{ readonly token: string; readonly expiresIn: number }> {
    const { kid, privateKey } = await this.keyStore.signingKey();
    const iat = Math.floor(now.getTime() / 1000);
    // Never past its session's absolute age (whole seconds, rounded down: never later).
    const limit = notAfter === undefined ? Number.POSITIVE_INFINITY : Math.floor(notAfter.getTime() / 1000);
    const exp = Math.max(iat, Math.min(iat + this.ttlSeconds, limit));
    const token = await new SignJWT({ sid: input.sid, role: input.role, ver: input.ver, gver: input.gver })
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(input.sub)
      .setJti(this.newId())
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(privateKey);
    return { token, expiresIn: exp - iat };
  }

  async verify(token: string, now: Date): Promise<VerifyResult> {
    const keys = await this.keyStore.verificationKeys();
    if (keys !== this.verifiedUnder) {
      this.verified.clear();
      this.verifiedUnder = keys;
    }
    const known = this.verified.get(token);
    if (known !== undefined) {
      // Same rule as jose: expired from the `exp` second on.
      if (known.exp <= Math.floor(now.getTime() / 1000)) {
        this.verified.delete(token);
        return EXPIRED;
      }
      return { ok: true, claims: known };
    }
    const result = await this.verifyOnce(token, now);
    if (result.ok && this.verifiedUnder === keys) this.remember(token, result.claims);
    return result;
  }

  private remember(token: string, claims: AccessTokenClaims): void {
    if (this.verified.size >= VERIFIED_CACHE_MAX_ENTRIES) {
      // Oldest first (Map keeps insertion order): a bounded memory, not an LRU, is what matters.
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, claims);
  }

  private async verifyOnce(token: string, now: Date): Promise<VerifyResult> {
    const first = await this.verifyWithLoadedKeys(token, now);
    // A kid this instance does not know may be another instance's new key: look once more.
    if (first === NO_MATCHING_KEY && (await this.keyStore.reloadForUnknownKid())) {
      const second = await this.verifyWithLoadedKeys(token, now);
      return second === NO_MATCHING_KEY ? INVALID : second;
    }
    return first === NO_MATCHING_KEY ? INVALID : first;
  }

  private async verifyWithLoadedKeys(
    token: string,
    now: Date,
  ): Promise<VerifyResult | typeof NO_MATCHING_KEY> {
    try {
      const { payload } = await jwtVerify(token, await this.localKeySet(), {
        algorithms: [SIGNING_ALGORITHM],
        issuer: this.issuer,
        audience: this.audience,
        typ: ACCESS_TOKEN_TYPE,
        currentDate: now,
        requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp', 'role', 'ver', 'gver'],
      });
      const claims = toClaims(payload);
      return claims === undefined ? INVALID : { ok: true, claims };
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) return NO_MATCHING_KEY;
      // Expiry is reported only for a genuine token: jose checks the signature before the claims.
      return error instanceof errors.JWTExpired ? EXPIRED : INVALID;
    }
  }

  private async localKeySet(): Promise<ReturnType<typeof createLocalJWKSet>> {
    const source = await this.keyStore.verificationKeys();
    // The store hands out the same frozen array until it reloads, so identity is a cheap cache key.
    if (this.keySet?.source !== source) {
      this.keySet = { source, jwks: createLocalJWKSet({ keys: [...source] }) };
    }
    return this.keySet.jwks;
  }
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function toClaims(payload: JWTPayload): AccessTokenClaims | undefined {
  const { sub, sid, jti, role, ver, gver, iat, exp } = payload;
  if (
    !isNonEmptyString(sub) ||
    !isNonEmptyString(sid) ||
    !isNonEmptyString(jti) ||
    (role !== 'user' && role !== 'admin') ||
    !isPositiveInteger(ver) ||
    !isPositiveInteger(gver) ||
    !Number.isSafeInteger(iat) ||
    !Number.isSafeInteger(exp)
  ) {
    return undefined;
  }
  return { sub, sid, jti, role, ver, gver, iat: iat as number, exp: exp as number };
}
