import { InvalidCursorError } from '../../domain/errors.js';

/** Opaque keyset cursor: base64url of a JSON array of strings. */
function encodeCursor(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

/**
 * The cursor's parts, checked one by one; throws {@link InvalidCursorError} when it
 * is not what {@link encodeCursor} produced with parts passing `validators`.
 */
export function decodeCursor(cursor: string, validators: readonly ((part: string) => boolean)[]): string[] {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(cursor);
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== validators.length ||
    !parts.every((part, index) => typeof part === 'string' && validators[index]?.(part) === true)
  ) {
    throw new InvalidCursorError(cursor);
  }
  return parts as string[];
}

const INT8_MAX = 9_223_372_036_854_775_807n;

export function isPositiveInt8(value: string): boolean {
  return /^[1-9][0-9]{0,18}$/.test(value) && BigInt(value) <= INT8_MAX;
}

export function isIsoTimestamp(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value) && !Number.isNaN(Date.parse(value));
}

/** Page sizes are at least 1 and at most 1000, whatever the caller asks. */
export function clampLimit(limit: number): number {
  if (!Number.isFinite(limit)) return 1000;
  return Math.min(1000, Math.max(1, Math.trunc(limit)));
}

/**
 * One page from rows fetched with `limit + 1`: the extra row only says there is a
 * next page, whose cursor is made from the last item kept.
 */
export function pageOf<Row, Item>(
  rows: readonly Row[],
  limit: number,
  toItem: (row: Row) => Item,
  cursorParts: (item: Item) => readonly string[],
): { readonly items: Item[]; readonly nextCursor: string | null } {
  const items = rows.slice(0, limit).map(toItem);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(cursorParts(last)) : null,
  };
}
