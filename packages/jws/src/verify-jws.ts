import { type KeyObject, timingSafeEqual } from 'node:crypto';
import { keyFits } from './algorithms.js';
import { type CompactJws, parseJsonObject } from './compact-jws.js';
import { type ClaimsRefusal, type ClaimsRules, registeredClaimsRefusal } from './registered-claims.js';

export type JwsCheck =
  | { readonly ok: true; readonly claims: Record<string, unknown> }
  | { readonly ok: false; readonly reason: ClaimsRefusal };

const INVALID = Object.freeze({ ok: false, reason: 'invalid' }) satisfies JwsCheck;
const EXPIRED = Object.freeze({ ok: false, reason: 'expired' }) satisfies JwsCheck;

/**
 * The key a token's `kid` names in `keys`: `unknown_kid` when none (another instance's new
 * key, perhaps: the caller may reload and look again), `unfit_key` when it is not of the
 * token's algorithm's type (refused: the token's `alg` never picks how a key is used).
 *
 * @example
 * const key = keyForKid(jws, keySet.byKid);
 * if (typeof key === 'string') return key === 'unknown_kid' ? reloadAndRetry() : refuse();
 */
export function keyForKid(
  jws: CompactJws,
  keys: ReadonlyMap<string, KeyObject>,
): KeyObject | 'unknown_kid' | 'unfit_key' {
  const key = keys.get(jws.kid);
  if (key === undefined) return 'unknown_kid';
  return keyFits(jws.algorithm, key) ? key : 'unfit_key';
}

/**
 * The signature under `publicKey`, then the header's `typ` and the registered claims (jose's
 * order: expiry is reported only for a genuine token). With `privateKey` (the private half of
 * `publicKey`, held by the issuer) and a deterministic algorithm, the input is signed again
 * and compared in constant time first, at a third of a verify's cost; a mismatch still runs
 * the verify, so exactly the tokens a verify accepts are accepted.
 *
 * @example
 * const check = verifyJws(jws, publicKey, { typ: 'at+jwt', issuer, audience, requiredClaims: ['sub'], now });
 * if (check.ok) use(check.claims); else refuse(check.reason); // 'invalid' or 'expired'
 */
export function verifyJws(
  jws: CompactJws,
  publicKey: KeyObject,
  rules: ClaimsRules,
  privateKey?: KeyObject,
): JwsCheck {
  const { algorithm } = jws;
  if (!keyFits(algorithm, publicKey)) return INVALID;
  const input = Buffer.from(jws.signingInput, 'latin1');
  if (
    !(privateKey !== undefined && algorithm.deterministic && signedAgainMatches(jws, input, privateKey)) &&
    !verifies(jws, input, publicKey)
  ) {
    return INVALID;
  }
  const claims = parseJsonObject(jws.payload);
  if (claims === undefined) return INVALID;
  switch (registeredClaimsRefusal(jws.header, claims, rules)) {
    case undefined:
      return { ok: true, claims };
    case 'expired':
      return EXPIRED;
    default:
      return INVALID;
  }
}

/**
 * Whether signing the input again gives the token's signature: for a token this key signed
 * it does, and for anything else only the key's holder could have made it. Compared in
 * constant time: the input is the caller's, and an early exit would hand out the signature
 * of any message a byte at a time.
 */
function signedAgainMatches(jws: CompactJws, input: Buffer, privateKey: KeyObject): boolean {
  if (!keyFits(jws.algorithm, privateKey)) return false;
  const expected = jws.algorithm.sign(input, privateKey);
  return expected.length === jws.signature.length && timingSafeEqual(expected, jws.signature);
}

/** A throw (none is expected for a signature of the algorithm's length) is a refusal too. */
function verifies(jws: CompactJws, input: Buffer, publicKey: KeyObject): boolean {
  try {
    return jws.algorithm.verify(input, publicKey, jws.signature);
  } catch {
    return false;
  }
}
