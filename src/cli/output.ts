import type { Writable } from 'node:stream';

/** Where a command writes, and how: human text by default, JSON with `--json`. */
export interface Output {
  readonly json: boolean;
  /** Prints `value` as JSON, or the human text `human()` builds from it. */
  result(value: unknown, human: () => string): void;
  /** A note for the person at the terminal: stderr, so it never mixes with JSON. */
  note(text: string): void;
}

export function createOutput(stdout: Writable, stderr: Writable, json: boolean): Output {
  return {
    json,
    result(value, human) {
      // Dates serialise as ISO strings through their toJSON.
      stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human().replace(/\n*$/, '')}\n`);
    },
    note(text) {
      stderr.write(`${text}\n`);
    },
  };
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
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `key: value` lines with the values aligned. */
export function fields(entries: readonly (readonly [string, string])[]): string {
  const width = Math.max(...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `  ${`${key}:`.padEnd(width + 1)} ${value}`).join('\n');
}
