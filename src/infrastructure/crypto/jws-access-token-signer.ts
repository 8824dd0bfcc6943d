import { randomUUID } from 'node:crypto';
import { keyForKid, parseCompactJws, verifyJws } from '@tokenwarden/jws';
import type {
  AccessTokenClaims,
  AccessTokenInput,
  AccessTokenSigner,
  ClientTokenClaims,
  VerifyFailure,
} from '../../application/ports/access-token-signer.js';
import type { TokenGenerator } from '../../application/ports/token-generator.js';
import type { SigningKey, SigningKeyStore, VerificationKeySet } from './signing-key-store.js';

/** Access tokens live 15 minutes unless configured otherwise. */
const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 900;

/** The `aud` written and required unless configured otherwise (`TOKENWARDEN_AUDIENCE`). */
const DEFAULT_ACCESS_TOKEN_AUDIENCE = 'tokenwarden';

/** The RFC 9068 `client_id` of first-party tokens unless configured otherwise (`TOKENWARDEN_CLIENT_ID`). */
const DEFAULT_CLIENT_ID = 'tokenwarden';

const ACCESS_TOKEN_TYPE = 'at+jwt';
const VERIFIED_CACHE_MAX_ENTRIES = 10_000;

export interface JwsAccessTokenSignerOptions {
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
type JwtClaims = Readonly<Record<string, unknown>>;

const INVALID = Object.freeze({ ok: false, reason: 'token_invalid' }) satisfies Verified<never>;
const EXPIRED = Object.freeze({ ok: false, reason: 'token_expired' }) satisfies Verified<never>;
const NO_MATCHING_KEY = Symbol('no matching key');

const ACCESS_TOKEN_CLAIMS = ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp', 'role', 'ver', 'gver'] as const;
const CLIENT_TOKEN_CLAIMS = ['iss', 'aud', 'sub', 'client_id', 'jti', 'iat', 'exp'] as const;

/**
 * What verification asks of one type of token. One per type and signer, built in the
 * constructor (the audiences are configured), so a verify allocates none.
 */
interface TokenKind<C> {
  readonly audience: string;
  readonly requiredClaims: readonly string[];
  readonly convert: (payload: JwtClaims) => C | undefined;
}

/**
 * Signs and verifies access tokens as JWTs with `typ: at+jwt`, EdDSA (Ed25519) or ES256
 * (P-256) as the signing key is made for, with `node:crypto` KeyObjects, synchronously:
 * WebCrypto (jose's path) hops to the thread pool for each operation, which cost a token's
 * first check ~230 µs. An EdDSA token is byte for byte what jose's `SignJWT` wrote (Ed25519
 * is deterministic; a test holds it), and verification (`@tokenwarden/jws`, shared with the verifier package) refuses
 * all jose's `jwtVerify` refuses, plus: a missing or non-string `kid`, any `crit`, padded or
 * non-canonical base64url, over-long parts.
 *
 * @example
 * const signer = new JwsAccessTokenSigner({ keyStore, issuer: 'https://auth.example.com', audience: 'api' });
 * const { token } = await signer.sign({ sub, sid, role: 'user', ver: 1, gver: 1 }, clock.now());
 * const result = await signer.verify(token, clock.now()); // { ok: true, claims }
 */
export class JwsAccessTokenSigner implements AccessTokenSigner {
  private readonly keyStore: SigningKeyStore;
  private readonly issuer: string;
  private readonly audience: string;
  private readonly clientId: string;
  private readonly clientAudience: string;
  private readonly ttlSeconds: number;
  private readonly newId: () => string;
  private readonly accessTokenKind: TokenKind<AccessTokenClaims>;
  private readonly clientTokenKind: TokenKind<ClientTokenClaims>;
  /** The encoded protected header per kid: the same bytes for every token a key signs. */
  private readonly headers = new Map<string, string>();
  /**
   * Tokens that verified, by their exact text, while the key set they verified under
   * is unchanged (a rotation, retirement, reload or the end of a verifying window hands
   * out a new set and empties this). A client presents the same access token for its
   * whole life, so the signature verify runs once per token.
   */
  private readonly verified = new Map<string, AccessTokenClaims>();
  private verifiedUnder: VerificationKeySet | undefined;

  constructor(options: JwsAccessTokenSignerOptions) {
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
    this.accessTokenKind = Object.freeze({
      audience: this.audience,
      requiredClaims: ACCESS_TOKEN_CLAIMS,
      convert: toClaims,
    });
    this.clientTokenKind = Object.freeze({
      audience: this.clientAudience,
      requiredClaims: CLIENT_TOKEN_CLAIMS,
      convert: toClientClaims,
    });
    this.ttlSeconds = ttl;
    const ids = options.ids;
    this.newId = ids === undefined ? randomUUID : () => ids.id();
  }

  async sign(
    input: AccessTokenInput,
    now: Date,
    notAfter?: Date,
  ): Promise<{ readonly token: string; readonly expiresIn: number }> {
    const key = await this.keyStore.signingKey();
    const iat = Math.floor(now.getTime() / 1000);
    // Never past its session's absolute age (whole seconds, rounded down: never later).
    const limit = notAfter === undefined ? Number.POSITIVE_INFINITY : Math.floor(notAfter.getTime() / 1000);
    const exp = Math.max(iat, Math.min(iat + this.ttlSeconds, limit));
    // Claim order as jose's SignJWT wrote it (its claims, then each setter in call order).
    const payload = {
      client_id: this.clientId,
      sid: input.sid,
      role: input.role,
      ver: input.ver,
      gver: input.gver,
      iss: this.issuer,
      aud: this.audience,
      sub: input.sub,
      jti: this.newId(),
      iat,
      exp,
    };
    const token = this.compact(key, payload);
    // A client presents a new token right after it gets it, most often to the instance
    // that issued it: what this signer wrote needs no signature check to be believed.
    // The claims pass the same conversion a verified token's would, or are not kept.
    const claims = toClaims(payload);
    if (claims !== undefined) this.rememberUnder(await this.keyStore.verificationKeySet(), token, claims);
    return { token, expiresIn: exp - iat };
  }

  async signClient(
    clientId: string,
    now: Date,
  ): Promise<{ readonly token: string; readonly expiresIn: number }> {
    const key = await this.keyStore.signingKey();
    const iat = Math.floor(now.getTime() / 1000);
    const token = this.compact(key, {
      client_id: clientId,
      iss: this.issuer,
      aud: this.clientAudience,
      sub: clientId,
      jti: this.newId(),
      iat,
      exp: iat + this.ttlSeconds,
    });
    return { token, expiresIn: this.ttlSeconds };
  }

  async verifyClient(token: string, now: Date): Promise<Verified<ClientTokenClaims>> {
    const keys = await this.keyStore.verificationKeySet();
    const result = await this.verifyOnce(keys, token, now, this.clientTokenKind);
    if (result.ok && result.claims.exp - result.claims.iat > this.ttlSeconds) return INVALID;
    return result;
  }

  async verify(token: string, now: Date): Promise<VerifyResult> {
    const keys = await this.keyStore.verificationKeySet();
    this.forgetUnlessUnder(keys);
    const known = this.verified.get(token);
    if (known !== undefined) {
      // Same rule as jose: expired from the `exp` second on.
      if (known.exp <= Math.floor(now.getTime() / 1000)) {
        this.verified.delete(token);
        return EXPIRED;
      }
      return { ok: true, claims: known };
    }
    const result = await this.verifyOnce(keys, token, now, this.accessTokenKind);
    if (result.ok && this.verifiedUnder === keys) this.remember(token, result.claims);
    return result;
  }

  private compact(key: SigningKey, claims: JwtClaims): string {
    let header = this.headers.get(key.kid);
    if (header === undefined) {
      header = encodeJson({ alg: key.algorithm.name, kid: key.kid, typ: ACCESS_TOKEN_TYPE });
      this.headers.set(key.kid, header);
    }
    const signingInput = `${header}.${encodeJson(claims)}`;
    const signature = key.algorithm.sign(Buffer.from(signingInput, 'latin1'), key.privateKey);
    return `${signingInput}.${signature.toString('base64url')}`;
  }

  /** Tokens remembered under another key set may no longer verify: forget them. */
  private forgetUnlessUnder(keys: VerificationKeySet): void {
    if (keys !== this.verifiedUnder) {
      this.verified.clear();
      this.verifiedUnder = keys;
    }
  }

  private rememberUnder(keys: VerificationKeySet, token: string, claims: AccessTokenClaims): void {
    this.forgetUnlessUnder(keys);
    this.remember(token, claims);
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
    keys: VerificationKeySet,
    token: string,
    now: Date,
    kind: TokenKind<C>,
  ): Promise<Verified<C>> {
    const first = this.verifyWithKeys(keys, token, now, kind);
    // A kid this instance does not know may be another instance's new key: look once more.
    if (first === NO_MATCHING_KEY && (await this.keyStore.reloadForUnknownKid())) {
      const reloaded = await this.keyStore.verificationKeySet();
      const second = this.verifyWithKeys(reloaded, token, now, kind);
      return second === NO_MATCHING_KEY ? INVALID : second;
    }
    return first === NO_MATCHING_KEY ? INVALID : first;
  }

  /** Synchronous from here: parse, header, key by kid, signature, then claims (jose's order). */
  private verifyWithKeys<C>(
    keys: VerificationKeySet,
    token: string,
    now: Date,
    kind: TokenKind<C>,
  ): Verified<C> | typeof NO_MATCHING_KEY {
    const jws = parseCompactJws(token);
    if (jws === undefined) return INVALID;
    const publicKey = keyForKid(jws, keys.byKid);
    if (publicKey === 'unknown_kid') return NO_MATCHING_KEY;
    if (publicKey === 'unfit_key') return INVALID;
    // A token of the key that signs now is checked by signing its input again (docs/DESIGN.md §4).
    const signing = keys.signing?.kid === jws.kid ? keys.signing.privateKey : undefined;
    const check = verifyJws(
      jws,
      publicKey,
      {
        typ: ACCESS_TOKEN_TYPE,
        issuer: this.issuer,
        audience: kind.audience,
        requiredClaims: kind.requiredClaims,
        now: Math.floor(now.getTime() / 1000),
      },
      signing,
    );
    if (!check.ok) return check.reason === 'expired' ? EXPIRED : INVALID;
    const claims = kind.convert(check.claims);
    return claims === undefined ? INVALID : { ok: true, claims };
  }
}

function encodeJson(value: JwtClaims): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function toClaims(payload: JwtClaims): AccessTokenClaims | undefined {
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
function toClientClaims(payload: JwtClaims): ClientTokenClaims | undefined {
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
