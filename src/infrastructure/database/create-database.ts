import { mkdir } from 'node:fs/promises';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PGliteDialect } from './pglite-dialect.js';
import { lockDataDir } from './pglite-lock.js';
import type { Database } from './schema.js';

export type DatabaseOptions =
  | {
      readonly kind: 'pglite';
      /** `memory://` for in-memory, else a directory (created when missing). */
      readonly dataDir: string;
    }
  | {
      readonly kind: 'postgres';
      readonly url: string;
      /** Every connection uses this schema as its search_path; created when missing. */
      readonly schema?: string;
      /** Default 10. */
      readonly poolSize?: number;
      /** Errors of idle pooled clients (e.g. the server restarted); the next query reconnects. */
      readonly onIdleClientError?: (error: Error) => void;
    };

type DatabaseKind = DatabaseOptions['kind'];

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: DatabaseKind;
  /** Waits for in-flight work, then closes PGlite or ends the pool. */
  close(): Promise<void>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Opens the database the configuration names. Types come back the same on both:
 * timestamptz as `Date`, int4 as `number`, int8 as `string`, jsonb parsed.
 *
 * @example
 * const { db, close } = await createDatabase({ kind: 'pglite', dataDir: './.tokenwarden' });
 * await migrateToLatest(db);
 */
export async function createDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.kind === 'pglite') {
    let release = async () => {};
    if (!options.dataDir.startsWith('memory://')) {
      await mkdir(options.dataDir, { recursive: true });
      // One process at a time: a server and a CLI on the same directory would corrupt it.
      release = await lockDataDir(options.dataDir);
    }
    const db = new Kysely<Database>({ dialect: new PGliteDialect(options.dataDir) });
    return handle(db, 'pglite', release);
  }

  const { schema } = options;
  if (schema !== undefined && !IDENTIFIER.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)}: use letters, digits and _`);
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // Without a listener an idle client's error would crash the process.
  pool.on('error', options.onIdleClientError ?? (() => {}));
  // A checked-out client has no pool listener: its connection dying between queries
  // (server restart, pg_terminate_backend, e.g. under the webhook relay's lock) would be
  // an unhandled 'error' event. The next query on it fails instead, and the pool drops it.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  if (schema !== undefined) {
    try {
      await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    } catch (error) {
      // Two processes creating it at once: one of them loses the race, harmlessly.
      if (!isDuplicateError(error)) {
        await db.destroy();
        throw error;
      }
    }
  }
  return handle(db, 'postgres');
}

function handle(db: Kysely<Database>, kind: DatabaseKind, release?: () => Promise<void>): DatabaseHandle {
  let closing: Promise<void> | undefined;
  return {
    db,
    kind,
    close: () => {
      closing ??= db.destroy().finally(release);
      return closing;
    },
  };
}

function isDuplicateError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === '42P06';
}
