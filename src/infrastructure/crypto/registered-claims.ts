/**
 * The checks jose's `jwtVerify` makes of a verified JWT's header `typ` and claims set,
 * in jose's order (the order decides whether a token that is both expired and wrong
 * in some other way is called expired: only when everything before `exp` holds).
 * No clock tolerance, as tokenwarden never configured one.
 */
export interface ClaimsRules {
  /** Compared as jose does: case-insensitive, `application/` optional. */
  readonly typ: string;
  readonly issuer: string;
  readonly audience: string;
  /** Must be present (own properties), whatever their value. */
  readonly requiredClaims: readonly string[];
  /** Epoch seconds. */
  readonly now: number;
}

export type ClaimsCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'token_invalid' | 'token_expired' };

const PASSED = Object.freeze({ ok: true }) satisfies ClaimsCheck;
const INVALID = Object.freeze({ ok: false, reason: 'token_invalid' }) satisfies ClaimsCheck;
const EXPIRED = Object.freeze({ ok: false, reason: 'token_expired' }) satisfies ClaimsCheck;

/** `at+jwt`, `AT+JWT` and `application/at+jwt` name one type (RFC 7515 §4.1.9). */
function normalizeTyp(value: string): string {
  const lower = value.toLowerCase();
  return value.includes('/') ? lower : `application/${lower}`;
}

const isAbsent = (value: unknown) => value === undefined;

/**
 * @example
 * const check = checkRegisteredClaims(header, claims, { typ: 'at+jwt', issuer, audience, requiredClaims: ['sub'], now });
 * if (!check.ok) return check.reason;
 */
export function checkRegisteredClaims(
  header: Readonly<Record<string, unknown>>,
  claims: Readonly<Record<string, unknown>>,
  rules: ClaimsRules,
): ClaimsCheck {
  if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(rules.typ)) return INVALID;
  for (const claim of rules.requiredClaims) {
    if (!Object.hasOwn(claims, claim)) return INVALID;
  }
  if (!Object.hasOwn(claims, 'aud') || !Object.hasOwn(claims, 'iss')) return INVALID;
  if (claims.iss !== rules.issuer) return INVALID;
  const { aud } = claims;
  if (
    !(typeof aud === 'string' ? aud === rules.audience : Array.isArray(aud) && aud.includes(rules.audience))
  ) {
    return INVALID;
  }
  const { iat, nbf, exp } = claims;
  if (!isAbsent(iat) && typeof iat !== 'number') return INVALID;
  if (!isAbsent(nbf) && (typeof nbf !== 'number' || nbf > rules.now)) return INVALID;
  if (!isAbsent(exp)) {
    if (typeof exp !== 'number') return INVALID;
    if (exp <= rules.now) return EXPIRED;
  }
  return PASSED;
}
