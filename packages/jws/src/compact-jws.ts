import { type JwsAlgorithm, jwsAlgorithm } from './algorithms.js';

/**
 * A JWS compact serialisation (RFC 7515 §7.1) taken apart strictly, before any key or
 * signature work: exactly three parts, each canonical unpadded base64url, a protected header
 * that is a UTF-8 JSON object with an `alg` of the algorithm table, a string `kid` and no
 * `crit`, a signature of that algorithm's length. Stricter than jose on Node 20 (which
 * decodes with `atob`, so it lets padding, whitespace and non-canonical trailing bits through
 * in the signature): one token has one spelling, which the servers' verified-token memory
 * relies on. (ECDSA leaves one more: (R, n − S) verifies as (R, S) does, in jose and here; such
 * a token carries the same claims, so it is only remembered as a second entry.)
 */
export interface CompactJws {
  readonly algorithm: JwsAlgorithm;
  readonly kid: string;
  readonly header: Readonly<Record<string, unknown>>;
  /** `<header>.<payload>` as it came: the bytes the signature covers. */
  readonly signingInput: string;
  /** The claims set's bytes, not yet parsed: only a verified token's are believed. */
  readonly payload: Buffer;
  readonly signature: Buffer;
}

/** Far above any token tokenwarden signs (~500 characters); bounds the work on garbage. */
export const MAX_COMPACT_JWS_LENGTH = 8192;
/** Far above `{"alg":"EdDSA","kid":<43 characters>,"typ":"at+jwt"}` encoded (~110 characters). */
export const MAX_PROTECTED_HEADER_LENGTH = 512;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
// As jose's strictDecoder: invalid UTF-8 is refused, not replaced.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes canonical unpadded base64url, or undefined: re-encoding must give back the same text. */
function decodeBase64url(part: string): Buffer | undefined {
  if (!BASE64URL.test(part)) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : undefined;
}

/** A plain JSON object (not an array, not null), as jose's `isObject` requires of a header or claims. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
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

/**
 * Splits and decodes a compact JWS, or undefined for anything malformed or outside the
 * header rules. The signature is not checked: see `verifyJws`.
 *
 * @example
 * const jws = parseCompactJws(token);
 * if (jws !== undefined) console.log(jws.algorithm.name, jws.kid);
 */
export function parseCompactJws(token: string): CompactJws | undefined {
  if (typeof token !== 'string' || token.length > MAX_COMPACT_JWS_LENGTH) return undefined;
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  if (firstDot < 0 || secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) return undefined;
  if (firstDot > MAX_PROTECTED_HEADER_LENGTH) return undefined;
  const headerBytes = decodeBase64url(token.slice(0, firstDot));
  const header = headerBytes === undefined ? undefined : parseJsonObject(headerBytes);
  // No extension is understood, so any `crit` is refused (RFC 7515 §4.1.11).
  if (header === undefined || header.crit !== undefined || typeof header.kid !== 'string') return undefined;
  const algorithm = jwsAlgorithm(header.alg);
  const signaturePart = token.slice(secondDot + 1);
  if (algorithm === undefined || signaturePart.length !== algorithm.encodedSignatureLength) return undefined;
  const payload = decodeBase64url(token.slice(firstDot + 1, secondDot));
  const signature = decodeBase64url(signaturePart);
  if (payload === undefined || signature === undefined) return undefined;
  return { algorithm, kid: header.kid, header, signingInput: token.slice(0, secondDot), payload, signature };
}

/**
 * The claims set of a parsed token, NOT verified: for choosing which check a token goes to,
 * never for trusting it (`verifyJws` returns the verified claims).
 */
export function unverifiedClaims(jws: CompactJws): Readonly<Record<string, unknown>> | undefined {
  return parseJsonObject(jws.payload);
}
