import { type KeyObject, verify } from 'node:crypto';

/**
 * An EdDSA (Ed25519) JWT checked synchronously with a `node:crypto` KeyObject: the
 * same checks as jose's `jwtVerify` (alg, typ, required claims, iss, aud, iat, nbf,
 * exp, in jose's order), without WebCrypto's hop through the thread pool. Stricter
 * than jose on purpose: exactly three canonical unpadded base64url parts, a string
 * `kid`, no `crit`, bounded sizes.
 */
export type JwtCheck =
  | { readonly ok: true; readonly claims: Record<string, unknown> }
  | { readonly ok: false; readonly reason: 'invalid' | 'expired' };

export interface JwtRules {
  readonly audience: string;
  readonly issuer?: string | undefined;
  readonly requiredClaims: readonly string[];
  /** Epoch seconds. */
  readonly now: number;
}

/** A compact JWS split and its header read; the signature is not yet checked. */
export interface ParsedJwt {
  readonly kid: string;
  readonly header: Readonly<Record<string, unknown>>;
  readonly signingInput: string;
  readonly payload: Buffer;
  readonly signature: Buffer;
}

const MAX_LENGTH = 8192;
const MAX_HEADER_LENGTH = 512;
const SIGNATURE_LENGTH = 86;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const INVALID = Object.freeze({ ok: false, reason: 'invalid' }) satisfies JwtCheck;
const EXPIRED = Object.freeze({ ok: false, reason: 'expired' }) satisfies JwtCheck;

function decode(part: string): Buffer | undefined {
  if (!BASE64URL.test(part)) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : undefined;
}

function jsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : undefined;
}

const normalizeTyp = (value: string) => (value.includes('/') ? value : `application/${value}`).toLowerCase();

/**
 * @returns the parts of an EdDSA compact JWS with a string kid and no `crit`, or undefined
 */
export function parseJwt(token: string): ParsedJwt | undefined {
  if (typeof token !== 'string' || token.length > MAX_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  if (headerPart.length > MAX_HEADER_LENGTH || signaturePart.length !== SIGNATURE_LENGTH) return undefined;
  const headerBytes = decode(headerPart);
  const payload = decode(payloadPart);
  const signature = decode(signaturePart);
  if (headerBytes === undefined || payload === undefined || signature === undefined) return undefined;
  const header = jsonObject(headerBytes);
  if (header === undefined || header.crit !== undefined || header.alg !== 'EdDSA') return undefined;
  if (typeof header.kid !== 'string') return undefined;
  return { kid: header.kid, header, signingInput: `${headerPart}.${payloadPart}`, payload, signature };
}

/**
 * The signature under `key`, then the claims.
 *
 * @example
 * const jwt = parseJwt(token);
 * const check = jwt && checkJwt(jwt, keyObject, { audience: 'api', requiredClaims: ['sub'], now });
 */
export function checkJwt(jwt: ParsedJwt, key: KeyObject, rules: JwtRules): JwtCheck {
  let genuine = false;
  try {
    genuine = verify(null, Buffer.from(jwt.signingInput, 'latin1'), key, jwt.signature);
  } catch {
    genuine = false;
  }
  if (!genuine) return INVALID;
  const claims = jsonObject(jwt.payload);
  if (claims === undefined) return INVALID;
  const { typ } = jwt.header;
  if (typeof typ !== 'string' || normalizeTyp(typ) !== 'application/at+jwt') return INVALID;
  const present = [...rules.requiredClaims, 'aud', ...(rules.issuer === undefined ? [] : ['iss'])];
  if (present.some((claim) => !Object.hasOwn(claims, claim))) return INVALID;
  if (rules.issuer !== undefined && claims.iss !== rules.issuer) return INVALID;
  const { aud, iat, nbf, exp } = claims;
  if (
    !(typeof aud === 'string' ? aud === rules.audience : Array.isArray(aud) && aud.includes(rules.audience))
  ) {
    return INVALID;
  }
  if (iat !== undefined && typeof iat !== 'number') return INVALID;
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > rules.now)) return INVALID;
  if (exp !== undefined && (typeof exp !== 'number' || exp <= rules.now)) {
    return typeof exp === 'number' ? EXPIRED : INVALID;
  }
  return { ok: true, claims };
}
