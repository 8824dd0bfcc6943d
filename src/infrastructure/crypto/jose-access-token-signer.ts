import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type {
  AccessTokenClaims,
  AccessTokenInput,
  AccessTokenSigner,
  ClientTokenClaims,
  VerifyFailure,
} from '../../application/ports/access-token-signer.js';
import type { TokenGenerator } from '../../application/ports/token-generator.js';
import { type PublicSigningJwk, SIGNING_ALGORITHM, type SigningKeyStore } from './signing-key-store.js';

/** Access tokens live 15 minutes unless configured otherwise. */
const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 900;

/** The `aud` written and required unless configured otherwise (`TOKENWARDEN_AUDIENCE`). */
const DEFAULT_ACCESS_TOKEN_AUDIENCE = 'tokenwarden';

/** The RFC 9068 `client_id` of first-party tokens unless configured otherwise (`TOKENWARDEN_CLIENT_ID`). */
const DEFAULT_CLIENT_ID = 'tokenwarden';

const ACCESS_TOKEN_TYPE = 'at+jwt';
const VERIFIED_CACHE_MAX_ENTRIES = 10_000;

export interface JoseAccessTokenSignerOptions {
  readonly keyStore: SigningKeyStore;
  /** The `iss` claim written and required. */
  readonly issuer: string;
  /** The `aud` claim written and required; {@link DEFAULT_ACCESS_TOKEN_AUDIENCE} by default. */
  readonly audience?: string;
  readonly ttlSeconds?: number;
  /** The `client_id` claim of first-party tokens; {@link DEFAULT_CLIENT_ID} by default. */
  readonly clientId?: string;
  /**
   * The `aud` of client-credentials tokens (tokenwarden's public URL): never the users'
   * audience, so a resource server cannot take a service's token for a user's. The issuer by default.
   */
  readonly clientAudience?: string;
  /** Source of `jti` values; a random UUID by default. */
  readonly ids?: Pick<TokenGenerator, 'id'>;
}

type Verified<C> =
  | { readonly ok: true; readonly claims: C }
  | { readonly ok: false; readonly reason: VerifyFailure };
type VerifyResult = Verified<AccessTokenClaims>;

const INVALID = Object.freeze({ ok: false, reason: 'token_invalid' }) satisfies Verified<never>;
const EXPIRED = Object.freeze({ ok: false, reason: 'token_expired' }) satisfies Verified<never>;
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
  private readonly clientId: string;
  private readonly clientAudience: string;
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
    this.clientId = options.clientId ?? DEFAULT_CLIENT_ID;
    this.clientAudience = options.clientAudience ?? options.issuer;
    if (this.clientAudience === this.audience) {
      throw new Error("The audience of client-credentials tokens must differ from the users' audience");
    }
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
    const token = await new SignJWT({
      client_id: this.clientId,
      sid: input.sid,
      role: input.role,
      ver: input.ver,
      gver: input.gver,
    })
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

  async signClient(
    clientId: string,
    now: Date,
  ): Promise<{ readonly token: string; readonly expiresIn: number }> {
    const { kid, privateKey } = await this.keyStore.signingKey();
    const iat = Math.floor(now.getTime() / 1000);
    const token = await new SignJWT({ client_id: clientId })
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.issuer)
      .setAudience(this.clientAudience)
      .setSubject(clientId)
      .setJti(this.newId())
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .sign(privateKey);
    return { token, expiresIn: this.ttlSeconds };
  }

  async verifyClient(token: string, now: Date): Promise<Verified<ClientTokenClaims>> {
    const result = await this.verifyOnce(
      token,
      now,
      this.clientAudience,
      ['iss', 'aud', 'sub', 'client_id', 'jti', 'iat', 'exp'],
      toClientClaims,
    );
    if (result.ok && result.claims.exp - result.claims.iat > this.ttlSeconds) return INVALID;
    return result;
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
    const result = await this.verifyOnce(
      token,
      now,
      this.audience,
      ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp', 'role', 'ver', 'gver'],
      toClaims,
    );
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

  private async verifyOnce<C>(
    token: string,
    now: Date,
    audience: string,
    requiredClaims: string[],
    convert: (payload: JWTPayload) => C | undefined,
  ): Promise<Verified<C>> {
    const first = await this.verifyWithLoadedKeys(token, now, audience, requiredClaims, convert);
    // A kid this instance does not know may be another instance's new key: look once more.
    if (first === NO_MATCHING_KEY && (await this.keyStore.reloadForUnknownKid())) {
      const second = await this.verifyWithLoadedKeys(token, now, audience, requiredClaims, convert);
      return second === NO_MATCHING_KEY ? INVALID : second;
    }
    return first === NO_MATCHING_KEY ? INVALID : first;
  }

  private async verifyWithLoadedKeys<C>(
    token: string,
    now: Date,
    audience: string,
    requiredClaims: string[],
    convert: (payload: JWTPayload) => C | undefined,
  ): Promise<Verified<C> | typeof NO_MATCHING_KEY> {
    try {
      const { payload } = await jwtVerify(token, await this.localKeySet(), {
        algorithms: [SIGNING_ALGORITHM],
        issuer: this.issuer,
        audience,
        typ: ACCESS_TOKEN_TYPE,
        currentDate: now,
        requiredClaims,
      });
      const claims = convert(payload);
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
  const { sub, sid, jti, role, ver, gver, iat, exp, client_id: clientId } = payload;
  if (
    (clientId !== undefined && !isNonEmptyString(clientId)) ||
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
  return {
    sub,
    sid,
    jti,
    role,
    ver,
    gver,
    iat: iat as number,
    exp: exp as number,
    clientId: (clientId as string | undefined) ?? null,
  };
}

/** A client-credentials token: `sub` is its `client_id`, and it carries nothing of a user's. */
function toClientClaims(payload: JWTPayload): ClientTokenClaims | undefined {
  const { sub, jti, iat, exp, client_id: clientId } = payload;
  if (
    !isNonEmptyString(sub) ||
    sub !== clientId ||
    !isNonEmptyString(jti) ||
    payload.sid !== undefined ||
    payload.role !== undefined ||
    !Number.isSafeInteger(iat) ||
    !Number.isSafeInteger(exp)
  ) {
    return undefined;
  }
  return { clientId: sub, jti, iat: iat as number, exp: exp as number };
}
