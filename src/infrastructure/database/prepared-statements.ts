import { createHash } from 'node:crypto';

/**
 * The SQL of a hot statement starts with this comment: node-postgres then sends it as a
 * named prepared statement, parsed and planned once per connection instead of on every
 * call (unnamed statements are re-parsed and re-planned each time). A pooler between the
 * server and PostgreSQL must keep a connection's named statements (PgBouncer in transaction
 * mode does so from 1.21, with max_prepared_statements set).
 *
 * @example
 * await sql`${sql.raw(PREPARED)} select … where t.token_hash = ${hash}`.execute(db);
 */
export const PREPARED = '/* prepared */';

/**
 * Names per process: the marked texts are a fixed set in the code, so this only guards
 * against a marked statement whose text varies (each variant would stay prepared on every
 * connection for its lifetime); past it, statements go unnamed.
 */
const MAX_NAMES = 64;

const names = new Map<string, string>();

/** The stable name of a marked SQL text (a hash: two texts never share a name), or null. */
export function preparedName(text: string): string | null {
  if (!text.startsWith(PREPARED)) return null;
  let name = names.get(text);
  if (name === undefined) {
    if (names.size >= MAX_NAMES) return null;
    name = `tw_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}
