import type { KeyObject } from 'node:crypto';
import { type JwsAlgorithm, jwsAlgorithm } from '@tokenwarden/jws';

/**
 * The algorithms tokenwarden signs access tokens with (TOKENWARDEN_SIGNING_ALG): EdDSA on
 * Ed25519 (the default), or ES256 on P-256 for services whose JWT library has no EdDSA.
 * Each key is of one algorithm, stored beside it; switching is a key rotation.
 */
const SIGNING_ALGORITHMS = ['EdDSA', 'ES256'] as const;

export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm = 'EdDSA';

/** Whether a stored or configured name is one of {@link SIGNING_ALGORITHMS}. */
export function isSigningAlgorithm(name: unknown): name is SigningAlgorithm {
  return (SIGNING_ALGORITHMS as readonly unknown[]).includes(name);
}

/** The `@tokenwarden/jws` table's entry for a signing algorithm: present, or the server cannot sign. */
export function jwsAlgorithmOf(name: SigningAlgorithm): JwsAlgorithm {
  const algorithm = jwsAlgorithm(name);
  if (algorithm === undefined) throw new Error(`No JWS algorithm ${name} in @tokenwarden/jws`);
  return algorithm;
}

/**
 * The signing algorithm a key is made for, by its type and curve: `ed25519` is EdDSA,
 * `ec` on P-256 is ES256; anything else (RSA, P-384, secp256k1, X25519) none.
 */
export function signingAlgorithmOfKey(key: KeyObject): SigningAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return undefined;
}

/** How a key of each algorithm is described in messages. */
export function describeSigningAlgorithm(name: SigningAlgorithm): string {
  return name === 'EdDSA' ? 'Ed25519 (EdDSA)' : 'P-256 (ES256)';
}
