import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe } from 'vitest';
import { createDatabase } from '../../src/infrastructure/database/create-database.js';
import { MIGRATIONS, migrateToLatest } from '../../src/infrastructure/database/migrator.js';
import { PGliteDialect } from '../../src/infrastructure/database/pglite-dialect.js';
import type { Database } from '../../src/infrastructure/database/schema.js';

export type TestDatabaseName = 'pglite' | 'postgres';

/** A fresh, migrated database no other test sees. */
export interface TestDatabase {
  readonly name: TestDatabaseName;
  readonly db: Kysely<Database>;
  /** Drops what it made (the PostgreSQL schema) and closes; safe to call twice. */
  close(): Promise<void>;
}

export interface TestDatabaseTarget {
  readonly name: TestDatabaseName;
  create(): Promise<TestDatabase>;
}

/**
 * The databases every database-backed suite runs on: PGlite always, PostgreSQL
 * too when `DATABASE_URL` is set (each `create()` gets its own schema).
 *
 * @example
 * describe.each(testDatabases())('sessions on $name', (target) => { … await target.create() … });
 */
export function testDatabases(): TestDatabaseTarget[] {
  const targets: TestDatabaseTarget[] = [{ name: 'pglite', create: createPGliteTestDatabase }];
  const url = process.env.DATABASE_URL;
  if (url !== undefined && url !== '') {
    targets.push({ name: 'postgres', create: () => createPostgresTestDatabase(url) });
  }
  return targets;
}

/** What a {@link describeEachDatabase} body gets: its target, and the suite's database once `beforeAll` ran. */
export interface DatabaseSuite extends TestDatabaseTarget {
  /** One database for the whole suite, opened in `beforeAll` and closed in `afterAll`. */
  readonly db: Kysely<Database>;
}

/**
 * `describe.each` over {@link testDatabases}, with one database per suite.
 * Tests share it, so they make their own rows (fresh ids) rather than assume an
 * empty table; a test that needs an empty database calls `suite.create()`.
 *
 * @example
 * describeEachDatabase('user repository', (suite) => {
 *   it('finds by email', async () => { const users = new KyselyUserRepository(suite.db); … });
 * });
 */
export function describeEachDatabase(title: string, body: (suite: DatabaseSuite) => void): void {
  describe.each(testDatabases())(`${title} on $name`, (target) => {
    let database: TestDatabase | undefined;
    beforeAll(async () => {
      database = await target.create();
    });
    afterAll(async () => {
      await database?.close();
    });
    body({
      name: target.name,
      create: () => target.create(),
      get db(): Kysely<Database> {
        if (database === undefined)
          throw new Error('the suite database is opened in beforeAll: use it inside tests');
        return database.db;
      },
    });
  });
}

async function createPGliteTestDatabase(): Promise<TestDatabase> {
  const template = await pgliteTemplate();
  let pglite: PGlite;
  try {
    pglite = await PGlite.create('memory://', { loadDataDir: template });
  } catch (error) {
    // A damaged cache file: forget it, the next run rebuilds it.
    await rm(templateCachePath(), { force: true });
    throw error;
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return { name: 'pglite', db, close: once(() => db.destroy()) };
}

async function createPostgresTestDatabase(url: string): Promise<TestDatabase> {
  const schema = `tw_t_${randomBytes(6).toString('hex')}`;
  const handle = await createDatabase({ kind: 'postgres', url, schema, poolSize: 10 });
  try {
    await migrateToLatest(handle.db);
  } catch (error) {
    await dropSchemaAndClose(handle.db, schema, handle.close);
    throw error;
  }
  return {
    name: 'postgres',
    db: handle.db,
    close: once(() => dropSchemaAndClose(handle.db, schema, handle.close)),
  };
}

async function dropSchemaAndClose(db: Kysely<Database>, schema: string, close: () => Promise<void>) {
  try {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
  } finally {
    await close();
  }
}

/**
 * Booting PGlite runs initdb (~2.5 s); loading a dump of a migrated database takes
 * ~0.5 s. The dump is built once per process and cached in the temp directory,
 * keyed by the PGlite version, the migrations' and the runner's source, so a changed
 * migration never meets a stale template.
 */
let template: Promise<Blob> | undefined;

function pgliteTemplate(): Promise<Blob> {
  template ??= loadOrBuildTemplate();
  return template;
}

async function loadOrBuildTemplate(): Promise<Blob> {
  const path = templateCachePath();
  try {
    return new Blob([await readFile(path)]);
  } catch {
    // not cached yet
  }
  const pglite = await PGlite.create('memory://');
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite, { closeOnDestroy: false }) });
  try {
    await migrateToLatest(db);
    const dump = await pglite.dumpDataDir('none');
    const partial = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(partial, new Uint8Array(await dump.arrayBuffer()));
    await rename(partial, path);
    return dump;
  } finally {
    await db.destroy();
    await pglite.close();
  }
}

/**
 * A migrated PGlite data directory at `dataDir` (which must not exist), as `tokenwarden
 * migrate` leaves one: a copy of a closed, migrated directory, ~0.2 s instead of initdb's
 * seconds. The directory copied is built once per machine from the dump above, beside it.
 *
 * @example
 * await copyPGliteTemplateDirectory(join(root, 'data'));
 */
export async function copyPGliteTemplateDirectory(dataDir: string): Promise<void> {
  templateDirectory ??= loadOrBuildTemplateDirectory();
  await cp(await templateDirectory, dataDir, { recursive: true, errorOnExist: true, force: false });
}

let templateDirectory: Promise<string> | undefined;

async function loadOrBuildTemplateDirectory(): Promise<string> {
  const path = `${templateCachePath()}.d`;
  if (existsSync(join(path, 'PG_VERSION'))) return path;
  // Built aside and renamed, so another worker never copies a half-written directory.
  const partial = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const pglite = await PGlite.create(partial, { loadDataDir: await pgliteTemplate() });
  await pglite.close();
  try {
    await rename(partial, path);
  } catch (error) {
    // Another worker got there first: its copy is as good.
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(join(path, 'PG_VERSION'))) throw error;
  }
  return path;
}

let cachePath: string | undefined;

function templateCachePath(): string {
  if (cachePath === undefined) {
    const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
    const manifest = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    // The runner's own source too: it decides what bookkeeping a migrated database holds.
    const hash = createHash('sha256').update(manifest.version).update(String(migrateToLatest));
    for (const [name, migration] of Object.entries(MIGRATIONS)) {
      hash.update(name).update(String(migration.up));
    }
    cachePath = join(tmpdir(), `tokenwarden-pglite-template-${hash.digest('hex').slice(0, 16)}.tar`);
  }
  return cachePath;
}

function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= close();
    return closing;
  };
}

/**
 * Another instance's pool over the same PostgreSQL schema as `primary` (its own connections,
 * as a second server has): for races between instances. Close it before `primary`.
 *
 * @example
 * const second = await samePostgresSchema(database.db, 4); … await second.close();
 */
export async function samePostgresSchema(
  primary: Kysely<Database>,
  poolSize: number,
): Promise<{ readonly db: Kysely<Database>; close(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') throw new Error('samePostgresSchema needs DATABASE_URL');
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(primary);
  return createDatabase({ kind: 'postgres', url, schema: rows[0]?.schema, poolSize });
}
