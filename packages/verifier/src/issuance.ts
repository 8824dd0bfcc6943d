/**
 * The issuer's own bounds on an access token, as the server holds them (its `checkIssuance`,
 * in `src/domain/token-validity.ts`): dated by its clock (at most this far ahead of ours),
 * signed for at most its access-token TTL, stamped with the versions current at issuance
 * (and versions only grow). A token outside them was signed by someone else holding the key.
 * The two are kept equal by a test running one table of cases through both.
 */
export const MAX_ISSUED_AT_SKEW_SECONDS = 30;

/** Why a token that verified under the issuer's key is still one it never produced. */
export type ImplausibleReason = 'issued_in_future' | 'lifetime_exceeds_ttl' | 'stamp_above_current';

/**
 * `held`: the versions the verifier knows; `userVersion` undefined when the feed showed no
 * change of that user within the window (its version is then unknown here, and not checked).
 * Times in epoch seconds.
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
): ImplausibleReason | null {
  if (token.iat > nowSeconds + MAX_ISSUED_AT_SKEW_SECONDS) return 'issued_in_future';
  if (token.exp - token.iat > ttlSeconds) return 'lifetime_exceeds_ttl';
  if ((held.userVersion !== undefined && token.ver > held.userVersion) || token.gver > held.globalVersion) {
    return 'stamp_above_current';
  }
  return null;
}
