import type { SelectQueryBuilder } from 'kysely';
import type { RowLock } from '../../application/ports/row-lock.js';

/** The select with the `for share` / `for update` clause a port's `lock` argument asks for. */
export function withRowLock<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  lock: RowLock | undefined,
): SelectQueryBuilder<DB, TB, O> {
  if (lock === 'share') return query.forShare();
  if (lock === 'update') return query.forUpdate();
  return query;
}
