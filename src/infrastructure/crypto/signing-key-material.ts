import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { PrivateJwkSealer } from './private-jwk-sealer.js';
import { DEFAULT_SIGNING_ALGORITHM, type SigningAlgorithm } from './signing-algorithm.js';

/** A freshly generated key, ready to insert into `signing_keys`. */
export interface GeneratedSigningKey {
  readonly kid: string;
  readonly algorithm: SigningAlgorithm;
  readonly publicJwk: JWK;
  /** The private JWK in its stored (possibly sealed) form. */
  readonly storedPrivateJwk: string;
}

/**
 * Generates a key pair of the algorithm (an Ed25519 pair for EdDSA, a P-256 pair for ES256);
 * the kid is the public key's JWK thumbprint (RFC 7638).
 *
 * @example
 * const key = await generateSigningKey(sealer, 'ES256');
 * await trx.insertInto('signing_keys').values({ kid: key.kid, algorithm: key.algorithm, … }).execute();
 */
export async function generateSigningKey(
  sealer: PrivateJwkSealer,
  algorithm: SigningAlgorithm = DEFAULT_SIGNING_ALGORITHM,
): Promise<GeneratedSigningKey> {
  const { privateKey, publicKey } =
    algorithm === 'ES256'
      ? await generateKeyPair('ES256', { extractable: true })
      : await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    algorithm,
    publicJwk,
    storedPrivateJwk: sealer.seal(kid, await exportJWK(privateKey)),
  };
}
