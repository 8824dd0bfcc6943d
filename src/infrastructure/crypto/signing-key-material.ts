import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { Database } from '../database/schema.js';
import type { PrivateJwkSealer } from './private-jwk-sealer.js';

export const SIGNING_ALGORITHM = 'EdDSA';

/**
 * Held (`pg_advisory_xact_lock`) by every transaction that creates or changes
 * signing keys, so processes starting together or rotating at once take turns.
 */
export const SIGNING_KEYS_LOCK = 7_240_516_001;

/** A freshly generated key, ready to insert into `signing_keys`. */
export interface GeneratedSigningKey {
  readonly kid: string;
  readonly algorithm: typeof SIGNING_ALGORITHM;
  readonly publicJwk: JWK;
  /** The private JWK in its stored (possibly sealed) form. */
  readonly storedPrivateJwk: string;
}

/**
 * Generates an Ed25519 key pair; the kid is the public key's JWK thumbprint (RFC 7638).
 *
 * @example
 * const key = await generateSigningKey(sealer);
 * await trx.insertInto('signing_keys').values({ kid: key.kid, … }).execute();
 */
export async function generateSigningKey(sealer: PrivateJwkSealer): Promise<GeneratedSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, {
    crv: 'Ed25519',
    extractable: true,
  });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    algorithm: SIGNING_ALGORITHM,
    publicJwk,
    storedPrivateJwk: sealer.seal(kid, await exportJWK(privateKey)),
  };
}

/** Generates a key and stores it as the active one (inside the caller's transaction); returns its kid. */
export async function insertActiveSigningKey(
  db: Kysely<Database>,
  sealer: PrivateJwkSealer,
  now: Date,
): Promise<string> {
  const key = await generateSigningKey(sealer);
  await db
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
