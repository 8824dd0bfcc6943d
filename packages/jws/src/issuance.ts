/**
 * How far ahead of the checker's clock an access token's `iat` may be. Instances sync their
 * clocks (NTP keeps them within a second); 30 s leaves room for a bad day, never for a token
 * dated ahead to outlive its TTL.
 */
export const MAX_ISSUED_AT_SKEW_SECONDS = 30;

/** Why an access token that verified under the issuer's key is still one it never produced. */
export type ImplausibleReason = 'issued_in_future' | 'lifetime_exceeds_ttl' | 'stamp_above_current';

/**
 * The issuer's own bounds on an access token, one rule for the server and the verifier: the
 * issuer dates a token by its clock, signs it for at most its access-token TTL and stamps it
 * with the versions current at issuance (and versions only grow). A token outside them was
 * signed by someone else holding the key (or under a configuration with a longer TTL).
 *
 * `held`: the versions the checker knows; `userVersion` undefined when it does not know the
 * user's (the verifier, when its feed showed no change of that user), which is then not
 * judged. Times in epoch seconds; `maxSkewSeconds` is for tests.
 *
 * @example
 * issuanceRefusal({ iat, exp, ver, gver }, { userVersion: 3, globalVersion: 2 }, 900, Date.now() / 1000);
 * // null, 'issued_in_future', 'lifetime_exceeds_ttl' or 'stamp_above_current'
 */
export function issuanceRefusal(
  token: { readonly iat: number; readonly exp: number; readonly ver: number; readonly gver: number },
  held: { readonly userVersion: number | undefined; readonly globalVersion: number },
  ttlSeconds: number,
  nowSeconds: number,
  maxSkewSeconds = MAX_ISSUED_AT_SKEW_SECONDS,
): ImplausibleReason | null {
  if (token.iat > nowSeconds + maxSkewSeconds) return 'issued_in_future';
  if (token.exp - token.iat > ttlSeconds) return 'lifetime_exceeds_ttl';
  if ((held.userVersion !== undefined && token.ver > held.userVersion) || token.gver > held.globalVersion) {
    return 'stamp_above_current';
  }
  return null;
}
