import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import { type Kysely, sql } from 'kysely';
import type { Clock } from '../../application/ports/clock.js';
import type { Database } from '../database/schema.js';

export const SIGNING_ALGORITHM = 'EdDSA';

/** The environment variable that pins the signing key; named in start-up errors. */
export const SIGNING_KEY_ENV = 'TOKENWARDEN_SIGNING_KEY';

/** A public JWK as published at `/.well-known/jwks.json`. */
export interface PublicSigningJwk extends JWK {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly kid: string;
  readonly alg: typeof SIGNING_ALGORITHM;
  readonly use: 'sig';
}

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

export interface SigningKeyStoreOptions {
  /** The TOKENWARDEN_SIGNING_KEY value: a PKCS8 PEM Ed25519 private key, or a private JWK as JSON. */
  readonly overrideKey?: string | undefined;
}

interface LoadedKeys {
  readonly signing: SigningKey | undefined;
  readonly verification: readonly PublicSigningJwk[];
}

interface OverrideKey {
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

// Serialises key creation across processes that start at once on the same database.
const KEY_CREATION_LOCK = 7_240_516_001;

/*
 * The only two places that touch the stored form of private_jwk, so encrypting it
 * under a master key later is a change to these two functions.
 */
function sealPrivateJwk(jwk: JWK): string {
  return JSON.stringify(jwk);
}

function unsealPrivateJwk(stored: string): JWK {
  return JSON.parse(stored) as JWK;
}

/**
 * Ed25519 signing keys for access tokens, kept in `signing_keys` (or pinned by
 * TOKENWARDEN_SIGNING_KEY). Imported keys are cached; call `reload()` after the
 * table changes.
 *
 * @example
 * const keys = new SigningKeyStore(db, clock, { overrideKey: process.env.TOKENWARDEN_SIGNING_KEY });
 * await keys.ensureActiveKey();
 * const { kid, privateKey } = await keys.signingKey();
 */
export class SigningKeyStore {
  private readonly override: OverrideKey | undefined;
  private loaded: Promise<LoadedKeys> | undefined;

  /** @throws Error naming TOKENWARDEN_SIGNING_KEY when `overrideKey` is not an Ed25519 private key. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    options: SigningKeyStoreOptions = {},
  ) {
    this.override =
      options.overrideKey === undefined || options.overrideKey.trim() === ''
        ? undefined
        : parseOverrideKey(options.overrideKey);
  }

  /**
   * Makes sure a signing key exists: the override, or the database's active key,
   * generated and stored on first start. Idempotent and safe when several processes
   * start together.
   */
  async ensureActiveKey(): Promise<void> {
    if (this.override === undefined) {
      await this.createActiveKeyIfMissing();
    }
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

  /** Public JWKs of every key whose tokens are accepted (active, verifying, override). */
  async verificationKeys(): Promise<readonly PublicSigningJwk[]> {
    return (await this.keys()).verification;
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

  private async createActiveKeyIfMissing(): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${KEY_CREATION_LOCK})`.execute(trx);
      const existing = await trx
        .selectFrom('signing_keys')
        .select('kid')
        .where('status', '=', 'active')
        .limit(1)
        .executeTakeFirst();
      if (existing !== undefined) return;
      const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, {
        crv: 'Ed25519',
        extractable: true,
      });
      const publicJwk = await exportJWK(publicKey);
      const privateJwk = await exportJWK(privateKey);
      await trx
        .insertInto('signing_keys')
        .values({
          kid: await calculateJwkThumbprint(publicJwk),
          algorithm: SIGNING_ALGORITHM,
          public_jwk: JSON.stringify(publicJwk),
          private_jwk: sealPrivateJwk(privateJwk),
          status: 'active',
          created_at: this.clock.now(),
          retired_at: null,
        })
        .execute();
    });
  }

  private async load(): Promise<LoadedKeys> {
    const rows = await this.db
      .selectFrom('signing_keys')
      .select(['kid', 'public_jwk', 'private_jwk', 'status'])
      .where('status', 'in', ['active', 'verifying'])
      .orderBy('created_at', 'desc')
      .orderBy('kid')
      .execute();

    const verification = new Map<string, PublicSigningJwk>();
    let signing: SigningKey | undefined;

    if (this.override !== undefined) {
      const kid = await calculateJwkThumbprint(this.override.publicJwk);
      signing = { kid, privateKey: await importPrivateKey(this.override.privateJwk) };
      verification.set(kid, publish(this.override.publicJwk, kid));
    }

    for (const row of rows) {
      if (!verification.has(row.kid)) {
        const stored: unknown =
          typeof row.public_jwk === 'string' ? JSON.parse(row.public_jwk) : row.public_jwk;
        verification.set(row.kid, publish(stored as JWK, row.kid));
      }
      // Rows are newest first, so a rotation that briefly leaves two active keys signs with the new one.
      if (signing === undefined && row.status === 'active') {
        signing = { kid: row.kid, privateKey: await importPrivateKey(unsealPrivateJwk(row.private_jwk)) };
      }
    }

    return { signing, verification: Object.freeze([...verification.values()]) };
  }
}

function publish(jwk: JWK, kid: string): PublicSigningJwk {
  if (typeof jwk.kty !== 'string' || typeof jwk.crv !== 'string' || typeof jwk.x !== 'string') {
    throw new Error(`Signing key ${kid} has a malformed public JWK`);
  }
  return Object.freeze({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg: SIGNING_ALGORITHM, use: 'sig' });
}

async function importPrivateKey(jwk: JWK): Promise<CryptoKey> {
  const key = await importJWK(jwk, SIGNING_ALGORITHM);
  if (key instanceof Uint8Array) throw new Error('Signing key is not an asymmetric key');
  return key;
}

/** Parses TOKENWARDEN_SIGNING_KEY synchronously, so a bad value stops start-up with its name. */
function parseOverrideKey(raw: string): OverrideKey {
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
    throw new Error(`${SIGNING_KEY_ENV} is not a valid Ed25519 private key${detail}`, { cause });
  }
  if (keyObject.asymmetricKeyType !== 'ed25519') {
    throw new Error(
      `${SIGNING_KEY_ENV} must be an Ed25519 private key, got ${keyObject.asymmetricKeyType ?? 'an unknown key type'}`,
    );
  }
  const privateJwk = keyObject.export({ format: 'jwk' }) as JWK;
  const publicJwk = createPublicKey(keyObject).export({ format: 'jwk' }) as JWK;
  return { privateJwk, publicJwk };
}
