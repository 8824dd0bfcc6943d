import { type Kysely, sql } from 'kysely';
import { ServiceUnavailableError } from '../../domain/errors.js';
import { settleWithin } from '../clock/settle-within.js';
import { QueryTimeoutError } from './database-faults.js';
import type { Database } from './schema.js';

/** What `/ready` says of the database: it takes writes, or why not. */
export type DatabaseReadiness = 'up' | 'down' | 'read_only' | 'timeout';

/** The probe each database has in flight: a stalled one is joined, never doubled. */
const inflight = new WeakMap<Kysely<Database>, Promise<DatabaseReadiness>>();

/**
 * Whether the database takes a write now, answered within `timeoutMs` whatever the
 * database does: one single-row update (0012-readiness-probe.ts), so a standby, a
 * read-only database or a full disk is `read_only`/`down`, not ready. A probe still
 * running at the bound is left to its own timeouts and reported as `timeout`; while it
 * runs, later calls wait on it rather than send another (a stalled database would
 * otherwise hold one pooled connection per probe, taken from real requests).
 *
 * @example
 * const state = await probeDatabase(db, 1_500); // 'up' | 'down' | 'read_only' | 'timeout'
 */
export async function probeDatabase(db: Kysely<Database>, timeoutMs: number): Promise<DatabaseReadiness> {
  let probe = inflight.get(db);
  if (probe === undefined) {
    probe = sql`update readiness_probe set probed_at = now() where id = 1`
      .execute(db)
      .then(
        (): DatabaseReadiness => 'up',
        (error: unknown): DatabaseReadiness => {
          const cause = error instanceof ServiceUnavailableError ? error.cause : error;
          const code = (cause as { code?: unknown } | null)?.code;
          if (code === '25006') return 'read_only';
          if (code === '57014' || cause instanceof QueryTimeoutError) return 'timeout';
          return 'down';
        },
      )
      .finally(() => inflight.delete(db));
    inflight.set(db, probe);
  }
  return settleWithin(probe, timeoutMs, 'timeout' as const);
}
