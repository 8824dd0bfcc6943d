/**
 * Characters a stored, human-read string (a reason, an email) must not hold: controls
 * (Cc: NUL, ESC, newline, tab…) rewrite an operator's terminal or forge log lines;
 * format characters (Cf: bidi overrides U+202A–202E and U+2066–2069, zero-width
 * U+200B–200D, U+FEFF, soft hyphen…) make different strings look the same; lone
 * surrogates (Cs) have no UTF-8 form at all; U+2028 and U+2029 (Zl, Zp) break lines
 * where a renderer honours them.
 */
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/**
 * The first control, format or surrogate character in `text` as `U+XXXX`, or null.
 *
 * @example
 * firstControlOrFormat('ok\u001b[2J'); // 'U+001B'
 */
export function firstControlOrFormat(text: string): string | null {
  const match = CONTROL_OR_FORMAT.exec(text);
  if (match === null) return null;
  const codePoint = match[0].codePointAt(0) ?? 0;
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

// The same classes as CONTROL_OR_FORMAT, as a character-class body for a pattern.
const HIDDEN_CLASSES = '\\p{Cc}\\p{Cf}\\p{Cs}\\p{Zl}\\p{Zp}';

/**
 * A regular expression (unicode mode, the dialect of JSON Schema's `pattern`) matching
 * exactly the strings that trim to 1..`maxLength` characters with no control, format or
 * separator character left: the rule of a reason or a name, stated once for the API schema.
 * Whitespace around is allowed (it is trimmed); inside, spaces are fine.
 *
 * @example
 * new RegExp(visibleTextPattern(500), 'u').test('  db leak '); // true
 */
export function visibleTextPattern(maxLength: number): string {
  const visible = `[^\\s${HIDDEN_CLASSES}]`;
  const inner = `[^${HIDDEN_CLASSES}]`;
  const between = maxLength < 2 ? '' : `(?:${inner}{0,${maxLength - 2}}${visible})?`;
  return `^\\s*${visible}${between}\\s*$`;
}
