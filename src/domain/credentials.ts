import { type TokenwardenError, validationError } from './errors.js';
import { err, ok, type Result } from './result.js';
import { firstControlOrFormat } from './text.js';

export const PASSWORD_MIN_LENGTH = 8;
/** Bounded so a huge password cannot make argon2 a denial-of-service lever. */
export const PASSWORD_MAX_LENGTH = 256;
export const EMAIL_MAX_LENGTH = 254;

// Deliberately simple (RFC 5322 is not a useful target): one @, no spaces, a dot in the domain.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Emails are compared after NFKC and lower-casing (JavaScript's stand-in for a full
 * case fold), so compatibility forms (fullwidth `ａ`, ligatures `ﬁ`), decomposed accents
 * (`e` + U+0301) and case all name one address. NFKC runs again after lower-casing,
 * which can leave a sequence NFKC would compose. ASCII is unchanged by NFKC, so an
 * address stored before this rule (trimmed, lower-cased) keeps its form.
 *
 * @example
 * normaliseEmail(' ＡＬＩＣＥ@Example.com '); // 'alice@example.com'
 */
export function normaliseEmail(raw: string): string {
  return raw.normalize('NFKC').toLowerCase().normalize('NFKC').trim();
}

// Scripts whose letters are confused with each other (Latin `a`, Cyrillic `а`, Greek `α`…),
// plus the scripts that browsers let Latin share a label with (Chinese, Japanese, Korean).
const SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Cherokee',
  'Georgian',
  'Coptic',
  'Han',
  'Hiragana',
  'Katakana',
  'Hangul',
  'Bopomofo',
] as const;
type Script = (typeof SCRIPTS)[number] | 'Other';
const SCRIPT_PATTERNS = SCRIPTS.map((name) => [name, new RegExp(`^\\p{Script=${name}}$`, 'u')] as const);
const COMMON_OR_INHERITED = /^[\p{Script=Common}\p{Script=Inherited}]$/u;
// A label may mix Latin with these sets only (as Chromium shows IDN labels): Japanese, Chinese, Korean.
const ALLOWED_MIXES: readonly ReadonlySet<Script>[] = [
  new Set<Script>(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set<Script>(['Latin', 'Han', 'Bopomofo']),
  new Set<Script>(['Latin', 'Han', 'Hangul']),
];

function scriptsOf(part: string): Set<Script> {
  const scripts = new Set<Script>();
  for (const char of part) {
    if (COMMON_OR_INHERITED.test(char)) continue; // digits, punctuation, combining marks
    scripts.add(SCRIPT_PATTERNS.find(([, pattern]) => pattern.test(char))?.[0] ?? 'Other');
  }
  return scripts;
}

/**
 * Whether a local part or domain label mixes scripts the way look-alikes do (`pаypal`
 * with a Cyrillic `а`). One script is fine, and so is Latin with Chinese, Japanese or
 * Korean scripts; any other mix is refused.
 */
export function isMixedScript(part: string): boolean {
  const scripts = scriptsOf(part);
  if (scripts.size <= 1) return false;
  return !ALLOWED_MIXES.some((allowed) => [...scripts].every((script) => allowed.has(script)));
}

/**
 * Whether `raw`, once normalised, is shaped like an address of at most 254 characters:
 * the part of {@link parseEmail} a schema can state (the API's `email` format).
 *
 * @example
 * hasEmailShape(' ＡＬＩＣＥ@Example.com '); // true
 */
export function hasEmailShape(raw: string): boolean {
  const email = normaliseEmail(raw);
  return email.length <= EMAIL_MAX_LENGTH && EMAIL_SHAPE.test(email);
}

/**
 * A new account's email: normalised ({@link normaliseEmail}), shaped like an address,
 * with no control or format character (ESC, newline, zero-width space, bidi override)
 * and no part mixing look-alike scripts.
 */
export function parseEmail(raw: string, path = '/email'): Result<string, TokenwardenError> {
  const problem = (message: string) => err(validationError([{ path, message }]));
  const email = normaliseEmail(raw);
  const hidden = firstControlOrFormat(email);
  if (hidden !== null) return problem(`must not contain control or format characters (found ${hidden})`);
  if (!hasEmailShape(email)) return problem('must be an email address');
  const [local = '', domain = ''] = email.split('@');
  if ([local, ...domain.split('.')].some(isMixedScript)) {
    return problem('must not mix scripts within a part (such as Latin with Cyrillic or Greek letters)');
  }
  return ok(email);
}

export function parseNewPassword(raw: string, path = '/password'): Result<string, TokenwardenError> {
  const length = [...raw].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return err(validationError([{ path, message: `must be at least ${PASSWORD_MIN_LENGTH} characters` }]));
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return err(validationError([{ path, message: `must be at most ${PASSWORD_MAX_LENGTH} characters` }]));
  }
  return ok(raw);
}
