import { InvalidCursorError } from '../../domain/errors.js';
import { isUuid } from '../../domain/ids.js';

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

function isIsoTimestamp(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * Where the cursor of a list ordered by (created_at, id) points: the last item of the
 * page before. Throws {@link InvalidCursorError} as {@link decodeCursor} does.
 */
export function decodeCreatedAtCursor(cursor: string): readonly [createdAt: Date, id: string] {
  const [createdAt, id] = decodeCursor(cursor, [isIsoTimestamp, isUuid]) as [string, string];
  return [new Date(createdAt), id];
}

/** The cursor parts of a list ordered by (created_at, id), from the last item of a page. */
export const createdAtCursorOf = (item: {
  readonly createdAt: Date;
  readonly id: string;
}): readonly string[] => [item.createdAt.toISOString(), item.id];

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
