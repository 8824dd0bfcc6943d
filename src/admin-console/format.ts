/**
 * How values look on the page. Server strings go through {@link visible} first: text
 * nodes already keep markup inert, and this keeps control and bidi characters from
 * reordering or hiding what an operator reads (a reason that reverses itself, a blank
 * email).
 */

// C0/C1 controls, bidi embeddings/overrides/isolates and marks, zero-width characters, BOM,
// lone surrogates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this finds
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]|\p{Cs}/gu;

/**
 * The string with every invisible or reordering character shown as `⟨U+XXXX⟩`.
 *
 * @example
 * visible('evil\u202Etxt.exe'); // 'evil⟨U+202E⟩txt.exe'
 */
export function visible(text: string): string {
  return text.replace(HIDDEN, (c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

/** A date in the browser's locale, with its time zone (`6 Dec 2026, 14:00:00 CET`); `—` for none. */
export const when = (iso: string | null): string =>
  iso === null ? '—' : new Date(iso).toLocaleString(undefined, { timeZoneName: 'short' });

/** `1 session`, `2 sessions`. */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** A detail value as one line: strings as they are (made visible), the rest as JSON. */
export const valueText = (value: unknown): string =>
  visible(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)));
