/** Row locks a read can take inside a transaction (PostgreSQL `FOR SHARE` / `FOR UPDATE`). */
export type RowLock = 'share' | 'update';
