/**
 * A JWS compact serialisation taken apart strictly, before any key or signature work:
 * exactly three parts, each canonical unpadded base64url, a protected header that is
 * a UTF-8 JSON object. Stricter than jose on Node 20 (which decodes with `atob`, so
 * it lets padding, whitespace and non-canonical trailing bits through in the
 * signature): one token has one spelling, which the verified-token memory relies on.
 */
export interface CompactJws {
  readonly header: Readonly<Record<string, unknown>>;
  /** `<header>.<payload>` as it came: the bytes the signature covers. */
  readonly signingInput: string;
  readonly payload: Buffer;
  readonly signature: Buffer;
}

/** Far above any token tokenwarden signs (~500 characters); bounds the work on garbage. */
export const MAX_COMPACT_JWS_LENGTH = 8192;
/** Far above `{"alg":"EdDSA","kid":<43 characters>,"typ":"at+jwt"}` encoded (~110 characters). */
export const MAX_PROTECTED_HEADER_LENGTH = 512;
/** An Ed25519 signature: 64 bytes, 86 base64url characters. */
const ED25519_SIGNATURE_LENGTH = 86;

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
 * Splits and decodes an Ed25519-signed compact JWS, or undefined for anything malformed.
 *
 * @example
 * const jws = parseCompactJws(token);
 * if (jws !== undefined && verify(null, Buffer.from(jws.signingInput), key, jws.signature)) …
 */
export function parseCompactJws(token: string): CompactJws | undefined {
  if (typeof token !== 'string' || token.length > MAX_COMPACT_JWS_LENGTH) return undefined;
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  if (firstDot < 0 || secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) return undefined;
  const headerPart = token.slice(0, firstDot);
  const payloadPart = token.slice(firstDot + 1, secondDot);
  const signaturePart = token.slice(secondDot + 1);
  if (headerPart.length > MAX_PROTECTED_HEADER_LENGTH || signaturePart.length !== ED25519_SIGNATURE_LENGTH) {
    return undefined;
  }
  const headerBytes = decodeBase64url(headerPart);
  const payload = decodeBase64url(payloadPart);
  const signature = decodeBase64url(signaturePart);
  if (headerBytes === undefined || payload === undefined || signature === undefined) return undefined;
  const header = parseJsonObject(headerBytes);
  if (header === undefined) return undefined;
  return { header, signingInput: token.slice(0, secondDot), payload, signature };
}
