import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { redactUrl } from '../../domain/redact-url.js';
import { DatabaseNotInitialisedError, DatabaseUnreachableError } from './database-open-errors.js';
import { guardedPool } from './guarded-pool.js';
import { type PreparedDataDir, prepareDataDir } from './pglite-data-dir.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';

export type DatabaseOptions =
  | {
      readonly kind: 'pglite';
      /** `memory://` for in-memory, else a directory (created when missing). */
      readonly dataDir: string;
      /**
       * Default true. False: a directory that is not a PGlite database (missing, empty) is a
       * {@link DatabaseNotInitialisedError}, and nothing is created, not even the lock file.
       */
      readonly create?: boolean;
      /** A lock on the directory unrenewed this long is taken over (pglite-lock.ts); default 10 s. */
      readonly staleLockMs?: number;
      /** A directory open to other users is reported here; default process.emitWarning. */
      readonly onWarning?: (message: string) => void;
    }
  | {
      readonly kind: 'postgres';
      readonly url: string;
      /** Every connection uses this schema as its search_path; created when missing. */
      readonly schema?: string;
      /**
       * Default true. False: a schema without tokenwarden's migration table is a
       * {@link DatabaseNotInitialisedError}, and no schema is created.
       */
      readonly create?: boolean;
      /**
       * When `schema` has no tokenwarden tables but the schema the connection would use by
       * itself does (`public`, or the URL's or role's search_path: an installation from
       * before TOKENWARDEN_DB_SCHEMA), use that one instead; the handle says so.
       */
      readonly followExistingSchema?: boolean;
      /** Default 10. */
      readonly poolSize?: number;
      /**
       * Default true: statements marked PREPARED (prepared-statements.ts) are sent named, planned once per
       * connection. False for a pooler that does not keep a connection's named statements.
       */
      readonly preparedStatements?: boolean;
      /** Errors of idle pooled clients (e.g. the server restarted); the next query reconnects. */
      readonly onIdleClientError?: (error: Error) => void;
      /** Bounds on waiting for the database (a serving instance sets them; migrations and tools do not). */
      readonly timeouts?: DatabaseTimeouts;
    };

/**
 * How long a serving instance waits on PostgreSQL before it answers 503 instead
 * (docs/RELIABILITY.md, "Faults"). The server cancels what it can itself (statements,
 * lock waits, idle transactions); the client bounds the rest (a connection that went
 * silent, a pool with no free connection).
 */
export interface DatabaseTimeouts {
  /** Connecting, and waiting for a free pooled connection. */
  readonly connectMs: number;
  /** `statement_timeout`; the client gives up on a silent connection one second later. */
  readonly statementMs: number;
  /** `lock_timeout`. */
  readonly lockMs: number;
  /** `idle_in_transaction_session_timeout`: locks of an instance that froze mid-transaction are freed. */
  readonly idleInTransactionMs: number;
}

type DatabaseKind = DatabaseOptions['kind'];

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: DatabaseKind;
  /** The PostgreSQL schema every connection uses (null: the connection's own search_path, or PGlite). */
  readonly schema: string | null;
  /** Set when `followExistingSchema` chose the existing schema over the one asked for. */
  readonly followed: { readonly asked: string; readonly used: string } | null;
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
    let dir: PreparedDataDir | undefined;
    if (!options.dataDir.startsWith('memory://')) {
      // Every initialised PGlite directory has PG_VERSION (initdb writes it first).
      if (options.create === false && !existsSync(join(options.dataDir, 'PG_VERSION'))) {
        throw new DatabaseNotInitialisedError(`the PGlite data directory ${resolve(options.dataDir)}`);
      }
      // One process at a time: a server and a CLI on the same directory would corrupt it.
      dir = await prepareDataDir(options.dataDir, {
        staleAfterMs: options.staleLockMs,
        onWarning: options.onWarning ?? ((message) => process.emitWarning(message)),
      });
    }
    const db = new Kysely<Database>({ dialect: new PGliteDialect(options.dataDir, { onOpen: dir?.opened }) });
    return handle(db, 'pglite', null, null, dir?.release);
  }

  if (options.schema !== undefined && !IDENTIFIER.test(options.schema)) {
    throw new Error(
      `invalid PostgreSQL schema name ${JSON.stringify(options.schema)}: use letters, digits and _`,
    );
  }
  const chosen =
    options.schema === undefined
      ? undefined
      : await chooseSchema(options.url, options.schema, {
          create: options.create ?? true,
          followExisting: options.followExistingSchema ?? false,
        });
  const schema = chosen?.schema;
  const timeouts = options.timeouts;
  const settings = timeouts === undefined ? [] : timeoutOptions(timeouts);
  const searchPath = schema === undefined ? undefined : searchPathOption(schema);
  const startupOptions = [...settings, ...(searchPath === undefined ? [] : [searchPath])].join(' ');
  const pool = new pg.Pool({
    connectionString: startupOptions === '' ? options.url : withOptions(options.url, settings, searchPath),
    max: options.poolSize ?? 10,
    ...(startupOptions === '' ? {} : { options: startupOptions }),
    ...(timeouts === undefined
      ? {}
      : {
          connectionTimeoutMillis: timeouts.connectMs,
          // A peer that vanished without a FIN (a failover, a NAT) is noticed on idle connections too.
          keepAlive: true,
          keepAliveInitialDelayMillis: 10_000,
        }),
  });
  // Without a listener an idle client's error would crash the process.
  pool.on('error', options.onIdleClientError ?? (() => {}));
  // A checked-out client has no pool listener: its connection dying between queries
  // (server restart, pg_terminate_backend, e.g. under the webhook relay's lock) would be
  // an unhandled 'error' event. The next query on it fails instead, and the pool drops it.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: guardedPool(pool, {
        prepared: options.preparedStatements !== false,
        queryTimeoutMs: timeouts === undefined ? null : timeouts.statementMs + QUERY_TIMEOUT_MARGIN_MS,
      }),
    }),
  });
  return handle(db, 'postgres', schema ?? null, chosen?.followed ?? null);
}

interface ChosenSchema {
  readonly schema: string;
  readonly followed: DatabaseHandle['followed'];
}

/**
 * Connects once (so an unreachable server is named here, not by the first query) and
 * decides the schema: the one asked for when it holds the migration table; else the
 * connection's own current schema when that one holds it (and `followExisting`); else
 * the one asked for, created now (unless `create` is false).
 */
async function chooseSchema(
  url: string,
  schema: string,
  options: { readonly create: boolean; readonly followExisting: boolean },
): Promise<ChosenSchema> {
  const where = `the PostgreSQL database ${redactUrl(url)}`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  // A connection that dies while we look is reported by the query that fails.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw new DatabaseUnreachableError(where, error);
  }
  try {
    const { rows } = await client.query<{ asked: boolean; current: string | null; existing: boolean }>(
      `select to_regclass(quote_ident($1) || '.tokenwarden_migration') is not null as asked,
              current_schema() as current,
              current_schema() is not null
                and to_regclass(quote_ident(current_schema()) || '.tokenwarden_migration') is not null as existing`,
      [schema],
    );
    const row = rows[0];
    if (row?.asked) return { schema, followed: null };
    if (options.followExisting && row?.existing && row.current !== null && row.current !== schema) {
      return { schema: row.current, followed: { asked: schema, used: row.current } };
    }
    if (!options.create) throw new DatabaseNotInitialisedError(`${where} (schema ${schema})`);
    try {
      await client.query(`create schema if not exists ${pg.escapeIdentifier(schema)}`);
    } catch (error) {
      // Two processes creating it at once: one of them loses the race, harmlessly.
      if (!isDuplicateError(error)) throw error;
    }
    return { schema, followed: null };
  } finally {
    await client.end().catch(() => {});
  }
}

/** How much longer than statement_timeout the client waits before it calls a connection silent. */
const QUERY_TIMEOUT_MARGIN_MS = 1_000;

function timeoutOptions(timeouts: DatabaseTimeouts): string[] {
  return [
    `-c statement_timeout=${timeouts.statementMs}`,
    `-c lock_timeout=${timeouts.lockMs}`,
    `-c idle_in_transaction_session_timeout=${timeouts.idleInTransactionMs}`,
  ];
}

/**
 * `-c search_path=…` for the startup packet. The name is double-quoted (a followed
 * schema may have any case); the server splits the options on unescaped whitespace.
 */
function searchPathOption(schema: string): string {
  return `-c search_path=${pg.escapeIdentifier(schema).replace(/[\\\s]/g, (c) => `\\${c}`)}`;
}

/**
 * pg lets the connection string's parameters win over the pool's: when the URL carries
 * `options` of its own (`?options=-c statement_timeout=…`), ours are put before them, so
 * the URL's own settings still win (later settings override earlier ones) — except the
 * search path, which is ours to set and goes last.
 */
function withOptions(url: string, settings: readonly string[], searchPath: string | undefined): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const own = parsed.searchParams.get('options');
  if (own === null) return url;
  parsed.searchParams.set(
    'options',
    [...settings, own, ...(searchPath === undefined ? [] : [searchPath])].join(' '),
  );
  return parsed.toString();
}

function handle(
  db: Kysely<Database>,
  kind: DatabaseKind,
  schema: string | null,
  followed: DatabaseHandle['followed'],
  release?: () => Promise<void>,
): DatabaseHandle {
  let closing: Promise<void> | undefined;
  return {
    db,
    kind,
    schema,
    followed,
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
