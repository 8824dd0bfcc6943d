import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { PrivateJwkSealer } from './private-jwk-sealer.js';

export const SIGNING_ALGORITHM = 'EdDSA';

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
