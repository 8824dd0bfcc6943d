import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { type Kysely, sql } from 'kysely';
import type { Clock } from '../../application/ports/clock.js';
import type { Database } from '../database/schema.js';
import { createPrivateJwkSealer, type PrivateJwkSealer } from './private-jwk-sealer.js';

/**
 * Held (`pg_advisory_xact_lock`) by the transaction that creates or re-seals the checkpoint
 * key, so instances starting together make one key. Apart from the token keys' lock.
 */
const CHECKPOINT_KEY_LOCK = 7_240_516_014;

/** What marks a published key as the audit checkpoint key (and not a token key). */
const CHECKPOINT_KEY_PURPOSE = 'tokenwarden-audit-checkpoint';

/**
 * The public checkpoint key as published at `/.well-known/tokenwarden-audit-keys.json`: no
 * `use` (so no JWKS consumer takes it for `sig`), `alg` EdDSA, and a purpose marker.
 */
export interface PublicCheckpointJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly key_ops: readonly ['verify'];
  readonly purpose: typeof CHECKPOINT_KEY_PURPOSE;
}

export interface CheckpointKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: PublicCheckpointJwk;
}

/**
 * The Ed25519 key that signs audit checkpoints (docs/AUDIT.md): one per database, in
 * `audit_checkpoint_keys`, made on first start under an advisory lock, its private JWK
 * sealed under TOKENWARDEN_MASTER_KEY exactly as the token signing keys are (bound to a
 * label of its own, so a sealed token key copied onto its row does not open). It is not in
 * `signing_keys`: the token JWKS never lists it and no access token verifies under it.
 *
 * @example
 * const keys = new AuditCheckpointKeyStore(db, clock, { sealer });
 * await keys.ensureKey();
 * const { kid, privateKey } = await keys.key();
 */
export class AuditCheckpointKeyStore {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #sealer: PrivateJwkSealer;
  #loaded: Promise<CheckpointKey> | undefined;

  constructor(db: Kysely<Database>, clock: Clock, options: { readonly sealer?: PrivateJwkSealer } = {}) {
    this.#db = db;
    this.#clock = clock;
    this.#sealer = options.sealer ?? createPrivateJwkSealer(undefined);
  }

  /**
   * Makes the key on first start, or brings its stored private part to the configured form
   * (sealed under the master key, or not). Idempotent, and one key however many instances
   * start together.
   * @throws SigningKeyUnsealError when the master key cannot open the stored key.
   */
  async ensureKey(): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${CHECKPOINT_KEY_LOCK})`.execute(trx);
      const row = await trx.selectFrom('audit_checkpoint_keys').selectAll().executeTakeFirst();
      if (row === undefined) {
        const { privateKey, publicKey } = await generateKeyPair('EdDSA', {
          crv: 'Ed25519',
          extractable: true,
        });
        const publicJwk = await exportJWK(publicKey);
        const kid = `audit-${await calculateJwkThumbprint(publicJwk)}`;
        await trx
          .insertInto('audit_checkpoint_keys')
          .values({
            kid,
            public_jwk: JSON.stringify({ kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x }),
            private_jwk: this.#sealer.seal(sealLabel(kid), await exportJWK(privateKey)),
            created_at: this.#clock.now(),
          })
          .execute();
        return;
      }
      const label = sealLabel(row.kid);
      if (!this.#sealer.isCurrent(label, row.private_jwk)) {
        const opened = this.#sealer.open(label, row.private_jwk);
        await trx
          .updateTable('audit_checkpoint_keys')
          .set({ private_jwk: this.#sealer.seal(label, opened) })
          .where('kid', '=', row.kid)
          .execute();
      }
    });
    this.#loaded = undefined;
    await this.key();
  }

  /** The key checkpoints are signed with (loaded once). */
  key(): Promise<CheckpointKey> {
    if (this.#loaded === undefined) {
      const loading = this.#load();
      loading.catch(() => {
        if (this.#loaded === loading) this.#loaded = undefined;
      });
      this.#loaded = loading;
    }
    return this.#loaded;
  }

  /** The JWK Set an auditor checks checkpoints with: the public key only. */
  async publicJwks(): Promise<{ readonly keys: readonly PublicCheckpointJwk[] }> {
    return { keys: [(await this.key()).publicJwk] };
  }

  async #load(): Promise<CheckpointKey> {
    const row = await this.#db.selectFrom('audit_checkpoint_keys').selectAll().executeTakeFirst();
    if (row === undefined) throw new Error('No audit checkpoint key: call ensureKey() at start');
    const jwk: JWK = this.#sealer.open(sealLabel(row.kid), row.private_jwk);
    const privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    const x = (createPublicKey(privateKey).export({ format: 'jwk' }) as JsonWebKey).x;
    if (x === undefined || x !== (row.public_jwk as { x?: unknown }).x) {
      throw new Error(`audit checkpoint key ${row.kid}: its private part does not match its public key`);
    }
    return {
      kid: row.kid,
      privateKey,
      publicJwk: Object.freeze({
        kty: 'OKP',
        crv: 'Ed25519',
        x,
        kid: row.kid,
        alg: 'EdDSA',
        key_ops: ['verify'] as const,
        purpose: CHECKPOINT_KEY_PURPOSE,
      }),
    };
  }
}

// The sealer binds the sealed form to this label: a token key's row (sealed under its bare kid) never opens here.
const sealLabel = (kid: string) => `audit-checkpoint/${kid}`;
