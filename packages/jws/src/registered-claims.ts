/**
 * The checks jose's `jwtVerify` makes of a verified JWT's header `typ` and claims set (RFC
 * 7519 §4.1), in jose's order: the order decides whether a token that is both expired and
 * wrong in some other way is called expired (only when everything before `exp` holds). No
 * clock tolerance, as tokenwarden never configured one.
 */
export interface ClaimsRules {
  /** Compared as jose does: case-insensitive, `application/` optional (RFC 7515 §4.1.9). */
  readonly typ: string;
  /** Required and compared when given; `iss` is not looked at otherwise. */
  readonly issuer?: string | undefined;
  readonly audience: string;
  /** Must be present (own properties), whatever their value. */
  readonly requiredClaims: readonly string[];
  /** Epoch seconds. */
  readonly now: number;
}

export type ClaimsRefusal = 'invalid' | 'expired';

/** `at+jwt`, `AT+JWT` and `application/at+jwt` name one type. */
function normalizeTyp(value: string): string {
  const lower = value.toLowerCase();
  return value.includes('/') ? lower : `application/${lower}`;
}

/**
 * @returns undefined when the header and claims pass, or why not
 *
 * @example
 * const refusal = registeredClaimsRefusal(header, claims, { typ: 'at+jwt', issuer, audience, requiredClaims: ['sub'], now });
 * if (refusal !== undefined) return refusal; // 'invalid' or 'expired'
 */
export function registeredClaimsRefusal(
  header: Readonly<Record<string, unknown>>,
  claims: Readonly<Record<string, unknown>>,
  rules: ClaimsRules,
): ClaimsRefusal | undefined {
  const { typ } = header;
  if (typeof typ !== 'string' || normalizeTyp(typ) !== normalizeTyp(rules.typ)) return 'invalid';
  for (const claim of rules.requiredClaims) {
    if (!Object.hasOwn(claims, claim)) return 'invalid';
  }
  // jose requires the claims it is asked to compare.
  if (!Object.hasOwn(claims, 'aud')) return 'invalid';
  if (rules.issuer !== undefined && (!Object.hasOwn(claims, 'iss') || claims.iss !== rules.issuer)) {
    return 'invalid';
  }
  const { aud } = claims;
  if (
    !(typeof aud === 'string' ? aud === rules.audience : Array.isArray(aud) && aud.includes(rules.audience))
  ) {
    return 'invalid';
  }
  const { iat, nbf, exp } = claims;
  if (iat !== undefined && typeof iat !== 'number') return 'invalid';
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > rules.now)) return 'invalid';
  if (exp !== undefined) {
    if (typeof exp !== 'number') return 'invalid';
    if (exp <= rules.now) return 'expired';
  }
  return undefined;
}
