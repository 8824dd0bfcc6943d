import type { Writable } from 'node:stream';
import type { Page } from '../domain/page.js';

/** Where a command writes, and how: human text by default, JSON with `--json`. */
export interface Output {
  readonly json: boolean;
  /** Prints `value` as JSON, or the human text `human()` builds from it. */
  result(value: unknown, human: () => string): void;
  /** A note for the person at the terminal: stderr, so it never mixes with JSON. */
  note(text: string): void;
  /**
   * A list command's page: its JSON, or a table of its items and, when there are more,
   * how to ask for them (the JSON carries `nextCursor` itself).
   */
  page<T>(page: Page<T>, text: PageText<T>): void;
}

/** How {@link Output.page} prints a page as text. */
export interface PageText<T> {
  /** What the list holds, plural: `users`. */
  readonly noun: string;
  readonly header: readonly string[];
  readonly row: (item: T) => readonly string[];
  /** Printed instead of an empty table. */
  readonly empty: string;
}

export function createOutput(stdout: Writable, stderr: Writable, json: boolean): Output {
  return {
    json,
    result(value, human) {
      // Dates serialise as ISO strings through their toJSON.
      stdout.write(
        json
          ? `${jsonForTerminal(JSON.stringify(value, null, 2))}\n`
          : `${visibleLines(human().replace(/\n*$/, ''))}\n`,
      );
    },
    note(text) {
      stderr.write(`${visibleLines(text)}\n`);
    },
    page(page, text) {
      this.result(page, () => table(text.header, page.items.map(text.row), text.empty));
      if (!json && page.nextCursor !== null) this.note(`More ${text.noun}: add --cursor ${page.nextCursor}`);
    },
  };
}

// Controls (ESC, CR, C1 CSI…), format characters (bidi overrides, zero-width), line and
// paragraph separators and lone surrogates: what lets stored text move the cursor, retitle the terminal or disguise itself.
const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
const HIDDEN_BUT_NEWLINE = /(?!\n)[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeOne = (char: string) =>
  SHORT_ESCAPES[char] ?? `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;

/**
 * Stored text made safe for a terminal: every control or format character shown as an
 * escape (`\u001b`, `\n`, `\u202e`), so a value stays on its own line and cell and
 * cannot move the cursor, forge a row or retitle the window. Rows written before
 * reasons and emails refused such characters still hold them.
 *
 * @example
 * visible('ok\u001b]0;owned\u0007'); // 'ok\\u001b]0;owned\\u0007'
 */
export function visible(text: string): string {
  return text.replace(HIDDEN, escapeOne);
}

/** {@link visible} for a whole human text, keeping its own line breaks: the net under every command's output. */
function visibleLines(text: string): string {
  return text.replace(HIDDEN_BUT_NEWLINE, escapeOne);
}

/** JSON.stringify escapes C0 controls only; C1 controls and format characters get `\uXXXX` too (same JSON value). */
function jsonForTerminal(json: string): string {
  return visibleLines(json);
}

/** ISO-8601 in UTC, or a dash for a missing time. */
export function when(date: Date | null | undefined): string {
  return date === null || date === undefined ? '-' : date.toISOString();
}

/**
 * A plain text table: a header, then one line per row, columns padded to the widest
 * cell. `empty` is printed instead when there are no rows.
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  empty: string,
): string {
  if (rows.length === 0) return empty;
  const safe = rows.map((row) => row.map(visible));
  const widths = header.map((h, i) => Math.max(h.length, ...safe.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...safe.map(line)].join('\n');
}

/** `key: value` lines with the values aligned. */
export function fields(entries: readonly (readonly [string, string])[]): string {
  const width = Math.max(...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `  ${`${key}:`.padEnd(width + 1)} ${visible(value)}`).join('\n');
}
