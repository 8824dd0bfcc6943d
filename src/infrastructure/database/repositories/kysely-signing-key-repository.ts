import { type Kysely, type Selectable, sql } from 'kysely';
import type {
  SigningKeyRepository,
  SigningKeyRetirement,
  SigningKeyRotation,
} from '../../../application/ports/signing-key-repository.js';
import type { SigningKeyRecord } from '../../../domain/signing-key.js';
import { createPrivateJwkSealer, type PrivateJwkSealer } from '../../crypto/private-jwk-sealer.js';
import { DEFAULT_SIGNING_ALGORITHM, type SigningAlgorithm } from '../../crypto/signing-algorithm.js';
import { generateSigningKey } from '../../crypto/signing-key-material.js';
import type { Database, SigningKeysTable } from '../schema.js';
import { ImmediateRevocations, type RevocationRecorder } from './kysely-revocation-log.js';

export interface SigningKeyRepositoryOptions {
  /** How private keys are stored: sealed under TOKENWARDEN_MASTER_KEY, or plaintext. */
  readonly sealer: PrivateJwkSealer;
  /** A key that stopped signing verifies this long more: the life of the tokens it signed. */
  readonly accessTokenTtlSeconds: number;
  /** What new keys are made for (TOKENWARDEN_SIGNING_ALG); EdDSA when absent. */
  readonly algorithm?: SigningAlgorithm;
}

const DEFAULT_SIGNING_KEY_REPOSITORY_OPTIONS: SigningKeyRepositoryOptions = Object.freeze({
  sealer: createPrivateJwkSealer(undefined),
  accessTokenTtlSeconds: 900,
  algorithm: DEFAULT_SIGNING_ALGORITHM,
});

/**
 * Held (`pg_advisory_xact_lock`) by every transaction that creates or changes
 * signing keys, so processes starting together or rotating at once take turns.
 */
const SIGNING_KEYS_LOCK = 7_240_516_001;

/** A key that may sign or verify, as the signing-key store loads it: with its stored private part. */
interface UsableSigningKey {
  readonly kid: string;
  /** As stored: `EdDSA` or `ES256` (the signing-key store refuses any other). */
  readonly algorithm: string;
  readonly status: 'active' | 'verifying';
  /** The public JWK, parsed. */
  readonly publicJwk: unknown;
  /** The private JWK in its stored (possibly sealed) form. */
  readonly storedPrivateJwk: string;
  readonly deactivatedAt: Date | null;
}

type KeyRow = Pick<
  Selectable<SigningKeysTable>,
  'kid' | 'algorithm' | 'status' | 'created_at' | 'deactivated_at' | 'retired_at'
>;

const COLUMNS = ['kid', 'algorithm', 'status', 'created_at', 'deactivated_at', 'retired_at'] as const;

/**
 * Signing-key lifecycle in `signing_keys`. `rotate` and `retire` take the signing-key
 * advisory lock, so run them inside a transaction (`uow.run`). The methods outside the
 * port (`lock`, `hasActiveKey`, `insertActiveKey`, `storedPrivateKeys`,
 * `replaceStoredPrivateKey`, `usableKeys`) serve the signing-key store, the one reader
 * of private parts.
 */
export class KyselySigningKeyRepository implements SigningKeyRepository {
  readonly #db: Kysely<Database>;
  readonly #options: SigningKeyRepositoryOptions;
  readonly #revocations: RevocationRecorder;

  constructor(
    db: Kysely<Database>,
    options: SigningKeyRepositoryOptions = DEFAULT_SIGNING_KEY_REPOSITORY_OPTIONS,
    revocations: RevocationRecorder = new ImmediateRevocations(db),
  ) {
    this.#db = db;
    this.#options = options;
    this.#revocations = revocations;
  }

  /** A verifier refuses a retired kid at once, whatever its JWKS cache still holds. */
  private recordRetired(kid: string, now: Date, replacedBy: string | null): Promise<void> {
    return this.#revocations.record({
      kind: 'signing_key_retired',
      kid,
      details: { replacedBy },
      occurredAt: now,
    });
  }

  async rotate(now: Date, options: { readonly retireOthers?: boolean } = {}): Promise<SigningKeyRotation> {
    await this.lock();
    const previous = await this.#db
      .selectFrom('signing_keys')
      .select('kid')
      .where('status', '=', 'active')
      .forUpdate()
      .executeTakeFirst();
    let retiredKids: readonly string[] = [];
    if (options.retireOthers === true) {
      const retired = await this.#db
        .updateTable('signing_keys')
        .set((eb) => ({
          status: 'retired',
          retired_at: now,
          deactivated_at: eb.fn.coalesce('deactivated_at', eb.val(now)),
        }))
        .where('status', 'in', ['active', 'verifying'])
        .returning('kid')
        .execute();
      retiredKids = retired.map((row) => row.kid).sort();
    } else if (previous !== undefined) {
      await this.#db
        .updateTable('signing_keys')
        .set({ status: 'verifying', deactivated_at: now })
        .where('kid', '=', previous.kid)
        .execute();
    }
    const newKid = await this.insertActiveKey(now);
    for (const kid of retiredKids) await this.recordRetired(kid, now, newKid);
    await this.#revocations.record({
      kind: 'signing_key_rotated',
      kid: newKid,
      details: { previousKid: previous?.kid ?? null, retiredKids },
      occurredAt: now,
    });
    return { previousKid: previous?.kid ?? null, newKid, retiredKids };
  }

  async rotateToConfiguredAlgorithm(
    now: Date,
  ): Promise<
    (SigningKeyRotation & { readonly previousAlgorithm: string; readonly algorithm: string }) | null
  > {
    await this.lock();
    // Under the lock (every change of keys takes it): of several instances starting together,
    // the first rotates, the rest see its key. No row lock: nothing is written when nothing changes.
    const active = await this.#db
      .selectFrom('signing_keys')
      .select(['kid', 'algorithm'])
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (active === undefined || active.algorithm === this.algorithm) return null;
    const rotation = await this.rotate(now);
    return { ...rotation, previousAlgorithm: active.algorithm, algorithm: this.algorithm };
  }

  async retire(
    kid: string,
    now: Date,
    options: { readonly replace?: boolean } = {},
  ): Promise<SigningKeyRetirement> {
    await this.lock();
    const row = await this.#db
      .selectFrom('signing_keys')
      .select(['kid', 'status', 'retired_at'])
      .where('kid', '=', kid)
      .forUpdate()
      .executeTakeFirst();
    if (row === undefined) return { outcome: 'not_found' };
    if (row.status === 'retired') return { outcome: 'already_retired', retiredAt: row.retired_at };
    if (row.status === 'active' && options.replace !== true) return { outcome: 'active_key' };
    await this.#db
      .updateTable('signing_keys')
      .set((eb) => ({
        status: 'retired',
        retired_at: now,
        deactivated_at: eb.fn.coalesce('deactivated_at', eb.val(now)),
      }))
      .where('kid', '=', kid)
      .execute();
    // The retired row frees the one-active-key index before the replacement goes in.
    const newKid = row.status === 'active' ? await this.insertActiveKey(now) : null;
    await this.recordRetired(kid, now, newKid);
    if (newKid !== null) {
      await this.#revocations.record({
        kind: 'signing_key_rotated',
        kid: newKid,
        details: { previousKid: kid, retiredKids: [kid] },
        occurredAt: now,
      });
    }
    return { outcome: 'retired', previousStatus: row.status, newKid };
  }

  async list(now: Date): Promise<readonly SigningKeyRecord[]> {
    const rows = await this.#db
      .selectFrom('signing_keys')
      .select(COLUMNS)
      .orderBy(sql`case when status = 'active' then 0 else 1 end`)
      .orderBy('created_at', 'desc')
      .orderBy(sql`deactivated_at desc nulls first`)
      .orderBy('kid')
      .execute();
    return rows.map((row) => this.toRecord(row, now));
  }

  /** Takes the signing-key advisory lock until the transaction ends. */
  async lock(): Promise<void> {
    await sql`select pg_advisory_xact_lock(${SIGNING_KEYS_LOCK})`.execute(this.#db);
  }

  async hasActiveKey(): Promise<boolean> {
    const existing = await this.#db
      .selectFrom('signing_keys')
      .select('kid')
      .where('status', '=', 'active')
      .limit(1)
      .executeTakeFirst();
    return existing !== undefined;
  }

  /** What new keys are made for. */
  private get algorithm(): SigningAlgorithm {
    return this.#options.algorithm ?? DEFAULT_SIGNING_ALGORITHM;
  }

  /**
   * Generates a key of the configured algorithm and stores it as the active one (inside the
   * caller's transaction); returns its kid.
   */
  async insertActiveKey(now: Date): Promise<string> {
    const key = await generateSigningKey(this.#options.sealer, this.algorithm);
    await this.#db
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        algorithm: key.algorithm,
        public_jwk: JSON.stringify(key.publicJwk),
        private_jwk: key.storedPrivateJwk,
        status: 'active',
        created_at: now,
        deactivated_at: null,
        retired_at: null,
      })
      .execute();
    return key.kid;
  }

  /** Every key's private JWK in its stored form, by kid. */
  async storedPrivateKeys(): Promise<readonly { readonly kid: string; readonly storedPrivateJwk: string }[]> {
    const rows = await this.#db
      .selectFrom('signing_keys')
      .select(['kid', 'private_jwk'])
      .orderBy('kid')
      .execute();
    return rows.map((row) => ({ kid: row.kid, storedPrivateJwk: row.private_jwk }));
  }

  async replaceStoredPrivateKey(kid: string, storedPrivateJwk: string): Promise<void> {
    await this.#db
      .updateTable('signing_keys')
      .set({ private_jwk: storedPrivateJwk })
      .where('kid', '=', kid)
      .execute();
  }

  /** The active and verifying keys: the active one first, then the newest. */
  async usableKeys(): Promise<readonly UsableSigningKey[]> {
    const rows = await this.#db
      .selectFrom('signing_keys')
      .select(['kid', 'algorithm', 'public_jwk', 'private_jwk', 'status', 'deactivated_at'])
      .where('status', 'in', ['active', 'verifying'])
      // The active key first, then the newest: keys made within one clock tick still list in order.
      .orderBy(sql`case when status = 'active' then 0 else 1 end`)
      .orderBy('created_at', 'desc')
      .orderBy('kid')
      .execute();
    return rows.map((row) => ({
      kid: row.kid,
      algorithm: row.algorithm,
      status: row.status === 'active' ? 'active' : 'verifying',
      publicJwk: typeof row.public_jwk === 'string' ? JSON.parse(row.public_jwk) : row.public_jwk,
      storedPrivateJwk: row.private_jwk,
      deactivatedAt: row.deactivated_at,
    }));
  }

  private toRecord(row: KeyRow, now: Date): SigningKeyRecord {
    const verifiesUntil =
      row.status === 'verifying' && row.deactivated_at !== null
        ? new Date(row.deactivated_at.getTime() + this.#options.accessTokenTtlSeconds * 1000)
        : null;
    const lapsed = verifiesUntil !== null && verifiesUntil.getTime() <= now.getTime();
    return {
      kid: row.kid,
      algorithm: row.algorithm,
      status: lapsed ? 'retired' : row.status,
      createdAt: row.created_at,
      deactivatedAt: row.deactivated_at,
      retiredAt: lapsed ? verifiesUntil : row.retired_at,
      verifiesUntil: lapsed ? null : verifiesUntil,
    };
  }
}
