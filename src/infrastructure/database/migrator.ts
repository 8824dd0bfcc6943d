import { type Kysely, type MigrationResult, Migrator, sql } from 'kysely';
import { initialMigration } from './migrations/0001-initial.js';
import { signingKeyLifecycleMigration } from './migrations/0002-signing-key-lifecycle.js';
import { webhookDeliveriesMigration } from './migrations/0003-webhook-deliveries.js';
import type { Database } from './schema.js';

/** Every migration, in code: names sort in the order they run. */
export const MIGRATIONS = Object.freeze({
  '0001-initial': initialMigration,
  '0002-signing-key-lifecycle': signingKeyLifecycleMigration,
  '0003-webhook-deliveries': webhookDeliveriesMigration,
});

export class MigrationFailedError extends Error {
  readonly code = 'migration_failed';
  readonly results: readonly MigrationResult[];

  constructor(cause: unknown, results: readonly MigrationResult[]) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName;
    super(
      `database migration ${failed ?? ''} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
    this.name = 'MigrationFailedError';
    this.results = results;
  }
}

/**
 * Brings the schema to the latest migration. Safe to run again, and from two
 * processes at once: kysely's migrator holds an advisory lock while it migrates.
 *
 * @example
 * await migrateToLatest(db); // ['0001-initial'] the first time, [] after
 * @returns the names of the migrations this call applied
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<readonly string[]> {
  // Pin the bookkeeping tables to the schema we migrate: kysely otherwise accepts
  // a `kysely_migration` table in any schema (e.g. another test's) as ours.
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  if (schema === undefined || schema === null) {
    throw new Error('no current schema: does the search_path name an existing schema?');
  }
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    migrationTableSchema: schema,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) throw new MigrationFailedError(error, results);
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
