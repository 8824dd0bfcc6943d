import { type Kysely, sql } from 'kysely';
import { ServiceUnavailableError } from '../../domain/errors.js';
import { databaseFault } from './database-faults.js';
import type { Database } from './schema.js';

/** What `/ready` says of the database: it takes writes, or why not. */
export type DatabaseReadiness = 'up' | 'down' | 'read_only' | 'timeout';

/**
 * Whether the database takes a write now, answered within `timeoutMs` whatever the
 * database does: one single-row update (0012-readiness-probe.ts), so a standby, a
 * read-only database or a full disk is `read_only`/`down`, not ready. A probe still
 * running at the bound is left to its own timeouts and reported as `timeout`.
 *
 * @example
 * const state = await probeDatabase(db, 1_500); // 'up' | 'down' | 'read_only' | 'timeout'
 */
export async function probeDatabase(db: Kysely<Database>, timeoutMs: number): Promise<DatabaseReadiness> {
  let timer: NodeJS.Timeout | undefined;
  const probe = sql`update readiness_probe set probed_at = now() where id = 1`.execute(db).then(
    (): DatabaseReadiness => 'up',
    (error: unknown): DatabaseReadiness => {
      const cause = error instanceof ServiceUnavailableError ? error.cause : error;
      const code = (cause as { code?: unknown } | null)?.code;
      if (code === '25006') return 'read_only';
      if (code === '57014' || databaseFault(cause)?.detail === 'the database did not answer in time')
        return 'timeout';
      return 'down';
    },
  );
  try {
    return await Promise.race([
      probe,
      new Promise<DatabaseReadiness>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
