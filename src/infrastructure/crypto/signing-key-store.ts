import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JwsAlgorithm } from '@tokenwarden/jws';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { Clock } from '../../application/ports/clock.js';
import type { SigningKeyCache } from '../../application/ports/signing-key-cache.js';
import { KyselySigningKeyRepository } from '../database/repositories/kysely-signing-key-repository.js';
import type { Database } from '../database/schema.js';
import { createPrivateJwkSealer, type PrivateJwkSealer } from './private-jwk-sealer.js';
import {
  DEFAULT_SIGNING_ALGORITHM,
  describeSigningAlgorithm,
  isSigningAlgorithm,
  jwsAlgorithmOf,
  type SigningAlgorithm,
  signingAlgorithmOfKey,
} from './signing-algorithm.js';

/** The environment variable that pins the signing key; named in start-up errors. */
const SIGNING_KEY_ENV = 'TOKENWARDEN_SIGNING_KEY';

/**
 * A public JWK as published at `/.well-known/jwks.json`: `OKP`/`Ed25519` with `x` for an
 * EdDSA key, `EC`/`P-256` with `x` and `y` for an ES256 one (RFC 7518 §6.2.1).
 */
export interface PublicSigningJwk extends JWK {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly y?: string;
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly use: 'sig';
}

export interface SigningKey {
  readonly kid: string;
  /** What the key signs with: the header's `alg` and the signature's form. */
  readonly algorithm: JwsAlgorithm;
  /** Made once per load: `algorithm.sign(data, privateKey)` signs synchronously. */
  readonly privateKey: KeyObject;
}

/**
 * The keys whose tokens are accepted now, as published JWKs and as `node:crypto`
 * public KeyObjects by kid (made once per load, for synchronous `crypto.verify`).
 * The same frozen object until a reload or a verifying key's window ends, so its
 * identity tells a verifier when what it remembered may no longer hold.
 */
export interface VerificationKeySet {
  readonly keys: readonly PublicSigningJwk[];
  readonly byKid: ReadonlyMap<string, KeyObject>;
  /**
   * The key that signs now, when this instance holds it: a token it signed can be checked
   * by signing its input again when the algorithm is deterministic (Ed25519), for a third of
   * a verify's cost.
   */
  readonly signing: SigningKey | undefined;
}

export interface SigningKeyStoreOptions {
  /**
   * The TOKENWARDEN_SIGNING_KEY value: a PKCS8 PEM private key, or a private JWK as JSON, of
   * {@link algorithm}'s type.
   */
  readonly overrideKey?: string | undefined;
  /** What new keys are made for (TOKENWARDEN_SIGNING_ALG); EdDSA by default. */
  readonly algorithm?: SigningAlgorithm;
  /** How private keys are stored (TOKENWARDEN_MASTER_KEY); plaintext JSON when absent. */
  readonly sealer?: PrivateJwkSealer;
  /** A key that stopped signing verifies this long more (default 900 s). */
  readonly accessTokenTtlSeconds?: number;
  /** A token with an unknown kid triggers a reload at most this often (default 5 s, by the clock). */
  readonly unknownKidReloadIntervalSeconds?: number;
}

interface VerificationEntry {
  readonly jwk: PublicSigningJwk;
  readonly publicKey: KeyObject;
  /** Epoch ms after which a verifying key no longer verifies; undefined for the active key. */
  readonly until: number | undefined;
}

interface LoadedKeys {
  readonly signing: SigningKey | undefined;
  readonly verification: readonly VerificationEntry[];
}

/** What `verificationKeys()` hands out: the same frozen array until a key's window ends or a reload. */
interface VerificationView {
  readonly from: LoadedKeys;
  readonly set: VerificationKeySet;
  /** Epoch ms when the next verifying key lapses. */
  readonly validUntil: number;
}

interface OverrideKey {
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK;
  readonly algorithm: SigningAlgorithm;
}

/**
 * Signing keys for access tokens (Ed25519 or P-256, one algorithm per key), kept in
 * `signing_keys` (or pinned by TOKENWARDEN_SIGNING_KEY). Imported keys are cached; call
 * `reload()` after the table changes. The active key signs; `verifying` keys verify until one
 * access-token TTL after they stopped signing; retired keys do neither.
 *
 * @example
 * const keys = new SigningKeyStore(db, clock, { overrideKey: process.env.TOKENWARDEN_SIGNING_KEY });
 * await keys.ensureActiveKey();
 * const { kid, privateKey } = await keys.signingKey();
 */
export class SigningKeyStore implements SigningKeyCache {
  private readonly override: OverrideKey | undefined;
  private readonly sealer: PrivateJwkSealer;
  /** What new keys are made for. */
  private readonly algorithm: SigningAlgorithm;
  private readonly accessTokenTtlSeconds: number;
  private readonly verifyWindowMs: number;
  private readonly unknownKidIntervalMs: number;
  private loaded: Promise<LoadedKeys> | undefined;
  private view: VerificationView | undefined;
  private lastUnknownKidReload: number | undefined;
  private unknownKidReload: Promise<void> | undefined;

  /** @throws Error naming TOKENWARDEN_SIGNING_KEY when `overrideKey` is not a private key of the algorithm. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    options: SigningKeyStoreOptions = {},
  ) {
    this.algorithm = options.algorithm ?? DEFAULT_SIGNING_ALGORITHM;
    this.override =
      options.overrideKey === undefined || options.overrideKey.trim() === ''
        ? undefined
        : parseOverrideKey(options.overrideKey, this.algorithm);
    this.sealer = options.sealer ?? createPrivateJwkSealer(undefined);
    this.accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? 900;
    this.verifyWindowMs = this.accessTokenTtlSeconds * 1000;
    this.unknownKidIntervalMs = (options.unknownKidReloadIntervalSeconds ?? 5) * 1000;
  }

  /** Whether TOKENWARDEN_SIGNING_KEY pins the signing key (stored keys then only verify). */
  get pinned(): boolean {
    return this.override !== undefined;
  }

  /**
   * Makes sure a signing key exists: the override, or the database's active key,
   * generated and stored on first start. Also brings every stored private key to the
   * configured form (sealed under the master key, or not), and so fails here, with a
   * message naming TOKENWARDEN_MASTER_KEY, when that key cannot open them. Idempotent
   * and safe when several processes start together.
   */
  async ensureActiveKey(): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const keys = this.repository(trx);
      await keys.lock();
      await this.resealStoredKeys(keys);
      if (this.override === undefined && !(await keys.hasActiveKey())) {
        await keys.insertActiveKey(this.clock.now());
      }
    });
    await this.reload();
  }

  /** Forgets the cached keys and loads them again from the database. */
  async reload(): Promise<void> {
    this.loaded = this.startLoad();
    await this.loaded;
  }

  /** The key new access tokens are signed with. */
  async signingKey(): Promise<SigningKey> {
    const { signing } = await this.keys();
    if (signing === undefined) {
      throw new Error('No active signing key: call ensureActiveKey() at start');
    }
    return signing;
  }

  /**
   * Public JWKs of every key whose tokens are accepted now (active, verifying inside
   * its window, override). The same frozen array until a reload or a window ends.
   */
  async verificationKeys(): Promise<readonly PublicSigningJwk[]> {
    return (await this.verificationKeySet()).keys;
  }

  /**
   * {@link verificationKeys} with a public KeyObject per kid; the same frozen object
   * until a reload or a window ends.
   */
  async verificationKeySet(): Promise<VerificationKeySet> {
    const loaded = await this.keys();
    const now = this.clock.now().getTime();
    if (this.view === undefined || this.view.from !== loaded || now >= this.view.validUntil) {
      const live = loaded.verification.filter((entry) => entry.until === undefined || now < entry.until);
      const validUntil = Math.min(
        Number.POSITIVE_INFINITY,
        ...live.flatMap((entry) => (entry.until === undefined ? [] : [entry.until])),
      );
      const set: VerificationKeySet = Object.freeze({
        keys: Object.freeze(live.map((entry) => entry.jwk)),
        byKid: new Map(live.map((entry) => [entry.jwk.kid, entry.publicKey])),
        signing: live.some((entry) => entry.jwk.kid === loaded.signing?.kid) ? loaded.signing : undefined,
      });
      this.view = { from: loaded, set, validUntil };
    }
    return this.view.set;
  }

  /**
   * A token named a kid this instance does not know: perhaps another instance rotated.
   * Reloads, at most once per interval (by the clock) however many such tokens come.
   *
   * @returns whether the keys were reloaded, so verifying again may succeed
   */
  async reloadForUnknownKid(): Promise<boolean> {
    if (this.unknownKidReload === undefined) {
      const now = this.clock.now().getTime();
      if (
        this.lastUnknownKidReload !== undefined &&
        now - this.lastUnknownKidReload < this.unknownKidIntervalMs
      ) {
        return false;
      }
      this.lastUnknownKidReload = now;
      const reloading = this.reload();
      this.unknownKidReload = reloading;
      reloading
        .finally(() => {
          if (this.unknownKidReload === reloading) this.unknownKidReload = undefined;
        })
        .catch(() => {});
    }
    try {
      await this.unknownKidReload;
      return true;
    } catch {
      return false;
    }
  }

  /** The body of `/.well-known/jwks.json`. */
  async jwks(): Promise<{ readonly keys: readonly PublicSigningJwk[] }> {
    return { keys: await this.verificationKeys() };
  }

  private keys(): Promise<LoadedKeys> {
    this.loaded ??= this.startLoad();
    return this.loaded;
  }

  private startLoad(): Promise<LoadedKeys> {
    const next = this.load();
    // A failed load must not stay cached, or one database hiccup would break signing for good.
    next.catch(() => {
      if (this.loaded === next) this.loaded = undefined;
    });
    return next;
  }

  /** The table's repository, on `db` or on a transaction, storing private keys with this store's sealer. */
  private repository(db: Kysely<Database>): KyselySigningKeyRepository {
    return new KyselySigningKeyRepository(db, {
      sealer: this.sealer,
      accessTokenTtlSeconds: this.accessTokenTtlSeconds,
      algorithm: this.algorithm,
    });
  }

  /**
   * Opens every stored private key and re-seals those not in the configured form:
   * plaintext rows once a master key is set, sealed ones once it is removed (which
   * fails, as it must). A wrong master key fails here, before any token is signed.
   */
  private async resealStoredKeys(keys: KyselySigningKeyRepository): Promise<void> {
    for (const { kid, storedPrivateJwk } of await keys.storedPrivateKeys()) {
      const jwk = this.sealer.open(kid, storedPrivateJwk);
      if (this.sealer.isCurrent(kid, storedPrivateJwk)) continue;
      await keys.replaceStoredPrivateKey(kid, this.sealer.seal(kid, jwk));
    }
  }

  private async load(): Promise<LoadedKeys> {
    const rows = await this.repository(this.db).usableKeys();

    const verification = new Map<string, VerificationEntry>();
    let signing: SigningKey | undefined;

    if (this.override !== undefined) {
      const kid = await calculateJwkThumbprint(this.override.publicJwk);
      const { algorithm } = this.override;
      signing = { kid, algorithm: jwsAlgorithmOf(algorithm), privateKey: this.override.privateKey };
      verification.set(kid, verificationEntry(this.override.publicJwk, kid, algorithm, undefined));
    }

    const now = this.clock.now().getTime();
    for (const row of rows) {
      // A verifying key verifies for one access-token TTL after it stopped signing.
      const until =
        row.status === 'verifying' && row.deactivatedAt !== null
          ? row.deactivatedAt.getTime() + this.verifyWindowMs
          : undefined;
      if (until !== undefined && until <= now) continue;
      const algorithm = storedAlgorithm(row.algorithm, row.kid);
      if (!verification.has(row.kid)) {
        verification.set(row.kid, verificationEntry(row.publicJwk as JWK, row.kid, algorithm, until));
      }
      // Rows are newest first: should two ever be active, the newer one signs.
      if (signing === undefined && row.status === 'active') {
        signing = {
          kid: row.kid,
          algorithm: jwsAlgorithmOf(algorithm),
          privateKey: importPrivateKey(this.sealer.open(row.kid, row.storedPrivateJwk), row.kid, algorithm),
        };
      }
    }

    return { signing, verification: Object.freeze([...verification.values()]) };
  }
}

/** A row's `algorithm`: one tokenwarden signs with, or the key is unusable (and says so). */
function storedAlgorithm(name: string, kid: string): SigningAlgorithm {
  if (!isSigningAlgorithm(name)) {
    throw new Error(`Signing key ${kid} is of algorithm ${name}, which tokenwarden does not take`);
  }
  return name;
}

function publish(jwk: JWK, kid: string, alg: SigningAlgorithm): PublicSigningJwk {
  const ec = alg === 'ES256';
  if (
    typeof jwk.kty !== 'string' ||
    typeof jwk.crv !== 'string' ||
    typeof jwk.x !== 'string' ||
    (ec && typeof jwk.y !== 'string')
  ) {
    throw new Error(`Signing key ${kid} has a malformed public JWK`);
  }
  return Object.freeze(
    ec
      ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y as string, kid, alg, use: 'sig' as const }
      : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg, use: 'sig' as const },
  );
}

function verificationEntry(
  jwk: JWK,
  kid: string,
  alg: SigningAlgorithm,
  until: number | undefined,
): VerificationEntry {
  const published = publish(jwk, kid, alg);
  const { kid: _kid, alg: _alg, use: _use, ...key } = published;
  const publicKey = createPublicKey({ key, format: 'jwk' });
  if (signingAlgorithmOfKey(publicKey) !== alg) {
    throw new Error(`Signing key ${kid} is not a ${describeSigningAlgorithm(alg)} key`);
  }
  return { jwk: published, publicKey, until };
}

function importPrivateKey(jwk: JWK, kid: string, alg: SigningAlgorithm): KeyObject {
  const key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  if (signingAlgorithmOfKey(key) !== alg) {
    throw new Error(`Signing key ${kid} is not a ${describeSigningAlgorithm(alg)} key`);
  }
  return key;
}

/**
 * Parses TOKENWARDEN_SIGNING_KEY synchronously, so a bad value stops start-up with its name.
 * The key must be of the configured algorithm: the algorithm is the choice, the key follows it.
 */
function parseOverrideKey(raw: string, algorithm: SigningAlgorithm): OverrideKey {
  let keyObject: KeyObject;
  const value = raw.trim();
  try {
    if (value.startsWith('{')) {
      keyObject = createPrivateKey({ key: JSON.parse(value) as JsonWebKey, format: 'jwk' });
    } else {
      // Env files often carry a PEM on one line with literal "\n" escapes.
      const pem = value.includes('\n') ? value : value.replaceAll('\\n', '\n');
      if (!pem.startsWith('-----BEGIN PRIVATE KEY-----')) {
        throw new Error('expected a PKCS8 PEM ("-----BEGIN PRIVATE KEY-----") or a private JWK as JSON');
      }
      keyObject = createPrivateKey({ key: pem, format: 'pem' });
    }
  } catch (cause) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    throw new Error(
      `${SIGNING_KEY_ENV} is not a valid ${describeSigningAlgorithm(algorithm)} private key${detail}`,
      {
        cause,
      },
    );
  }
  if (signingAlgorithmOfKey(keyObject) !== algorithm) {
    const type = keyObject.asymmetricKeyType ?? 'an unknown key type';
    const curve = keyObject.asymmetricKeyDetails?.namedCurve;
    throw new Error(
      `${SIGNING_KEY_ENV} must be a ${describeSigningAlgorithm(algorithm)} private key (TOKENWARDEN_SIGNING_ALG=${algorithm}), got ${curve === undefined ? type : `${type} on ${curve}`}`,
    );
  }
  const publicJwk = createPublicKey(keyObject).export({ format: 'jwk' }) as JWK;
  return { privateKey: keyObject, publicJwk, algorithm };
}
