/*
 * The master key's rules, apart from the sealer that uses it: configuration checks a key
 * at start-up, and configuration is read by every layer (http and cli too), which must not
 * import infrastructure.
 */

/** The environment variable holding the master key; named in start-up errors. */
export const MASTER_KEY_ENV = 'TOKENWARDEN_MASTER_KEY';

/** The master key the stored keys were sealed with before a change of master key (read only). */
export const PREVIOUS_MASTER_KEY_ENV = 'TOKENWARDEN_MASTER_KEY_PREVIOUS';

/** Fewest accepted key bytes (decoded), and the old passphrase length (previous keys only). */
export const MASTER_KEY_MIN_LENGTH = 32;

/**
 * Fewest distinct byte values (and distinct steps between neighbours) a key must show.
 * 32 random bytes show about 30; fewer than 16 happens about once in 3·10^16 keys, while
 * repeated, patterned or counter bytes (`aaaa…`, `0102…`) fall far below it.
 */
const MASTER_KEY_MIN_DISTINCT = 16;

/**
 * Why `raw` is not an acceptable master key, naming `variable`, or null when it is: 32+
 * bytes given as hex, base64 or base64url, that look random (see {@link MASTER_KEY_MIN_DISTINCT}).
 * Passphrases are refused: their strength cannot be told from their length.
 */
export function masterKeyProblem(raw: string, variable = MASTER_KEY_ENV): string | null {
  const value = raw.trim();
  const hex = HEX.test(value) && value.length % 2 === 0 ? Buffer.from(value, 'hex') : null;
  // Hex digits are base64 letters too: hex when it makes a whole key, else base64.
  const bytes = hex !== null && hex.length >= MASTER_KEY_MIN_LENGTH ? hex : canonicalBase64(value);
  const howTo =
    `${variable} must be at least ${MASTER_KEY_MIN_LENGTH} random bytes in base64, base64url or hex ` +
    '(e.g. `openssl rand -base64 32`)';
  const migrate =
    `. If the signing keys were sealed with a passphrase an earlier version accepted, move it to ` +
    `${PREVIOUS_MASTER_KEY_ENV} and set ${variable} to new random bytes: the keys are re-sealed at start`;
  if (bytes === null || bytes.length < MASTER_KEY_MIN_LENGTH) {
    return `${howTo}; passphrases are not accepted${variable === MASTER_KEY_ENV ? migrate : ''}`;
  }
  if (!looksRandom(bytes)) {
    return `${howTo}; this value's bytes are repetitive, patterned or text, not random${variable === MASTER_KEY_ENV ? migrate : ''}`;
  }
  return null;
}

const HEX = /^[0-9a-fA-F]+$/;

/** The bytes of canonical base64 or base64url (padding optional), else null. */
export function canonicalBase64(value: string): Buffer | null {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return null;
  const decoded = Buffer.from(value, 'base64');
  const canonical = (s: string) => s.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
  return decoded.toString('base64url') === canonical(value) ? decoded : null;
}

/**
 * Shares of text bytes above which a key is taken for text (a passphrase given as base64 or
 * hex, with a few non-text bytes mixed in): printable ASCII (95 of 256 values, about 37 %
 * of random bytes) and letters or space (53 of 256, about 21 %). A random 32-byte key
 * crosses either about once in 2·10^9 (binomial tails: 29+ of 32 printable 4·10^-10, 25+
 * of 32 letters 6·10^-11), longer keys less often; an English sentence is well above both.
 */
const MAX_PRINTABLE_SHARE = 0.9;
const MAX_LETTER_SHARE = 0.75;

/**
 * Cheap tests that random bytes pass with overwhelming probability: enough distinct
 * values, enough distinct steps between neighbours (a counter has one), and not mostly
 * text (see {@link MAX_PRINTABLE_SHARE}).
 */
function looksRandom(bytes: Buffer): boolean {
  const values = new Set(bytes);
  const steps = new Set<number>();
  let printable = 0;
  let letters = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (i > 0) steps.add((b - (bytes[i - 1] as number) + 256) % 256);
    if (b >= 0x20 && b <= 0x7e) printable++;
    if (b === 0x20 || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)) letters++;
  }
  const text = printable > MAX_PRINTABLE_SHARE * bytes.length || letters > MAX_LETTER_SHARE * bytes.length;
  return values.size >= MASTER_KEY_MIN_DISTINCT && steps.size >= MASTER_KEY_MIN_DISTINCT && !text;
}
