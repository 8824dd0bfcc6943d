import { type SelectQueryBuilder, sql } from 'kysely';
import type { Page } from '../../domain/page.js';
import { clampLimit, createdAtCursorOf, decodeCreatedAtCursor, pageOf } from './cursor.js';

/**
 * One page of a list keyset-paginated on (created_at, id), oldest first (`asc`) or
 * newest first (`desc`): the rows after the cursor's item in that order, `limit + 1`
 * fetched so the extra one says whether a next page exists. An index on
 * (created_at, id) — or one the query's filter already narrows by — keeps every page
 * a range read, however deep. A cursor that is not one this made is an
 * {@link InvalidCursorError}. `alias` names the paged table when the query joins others.
 *
 * @example
 * const page = await pageByCreatedAt(db.selectFrom('users').selectAll(), { limit: 50, cursor }, 'asc', toUserRecord);
 */
export async function pageByCreatedAt<
  DB,
  TB extends keyof DB,
  Row extends { readonly created_at: Date; readonly id: string },
  Item extends { readonly createdAt: Date; readonly id: string },
>(
  query: SelectQueryBuilder<DB, TB, Row>,
  page: { readonly limit: number; readonly cursor?: string },
  order: 'asc' | 'desc',
  toItem: (row: Row) => Item,
  alias?: string,
): Promise<Page<Item>> {
  const limit = clampLimit(page.limit);
  const createdAtColumn = sql.ref(alias === undefined ? 'created_at' : `${alias}.created_at`);
  const idColumn = sql.ref(alias === undefined ? 'id' : `${alias}.id`);
  let paged = query;
  if (page.cursor !== undefined) {
    const [createdAt, id] = decodeCreatedAtCursor(page.cursor);
    paged = paged.where(
      order === 'asc'
        ? sql<boolean>`(${createdAtColumn}, ${idColumn}) > (${createdAt}, ${id})`
        : sql<boolean>`(${createdAtColumn}, ${idColumn}) < (${createdAt}, ${id})`,
    );
  }
  const rows = await paged
    .orderBy(createdAtColumn, order)
    .orderBy(idColumn, order)
    .limit(limit + 1)
    .execute();
  return pageOf(rows, limit, toItem, createdAtCursorOf);
}
