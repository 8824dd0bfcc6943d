import { type Kysely, type Migration, sql } from 'kysely';
import { initialMigration } from './migrations/0001-initial.js';
import { signingKeyLifecycleMigration } from './migrations/0002-signing-key-lifecycle.js';
import { webhookDeliveriesMigration } from './migrations/0003-webhook-deliveries.js';
import { sealedSuccessorSweepMigration } from './migrations/0004-sealed-successor-sweep.js';
import { emailNfkcMigration } from './migrations/0005-email-nfkc.js';
import { serviceClientsMigration } from './migrations/0006-service-clients.js';
import { revocationFeedMigration } from './migrations/0007-revocation-feed.js';
import { retentionMigration } from './migrations/0009-retention.js';
import { rotationScheduleMigration } from './migrations/0010-rotation-schedule.js';
import { rotationActivityIndexMigration } from './migrations/0011-rotation-activity-index.js';
import { readinessProbeMigration } from './migrations/0012-readiness-probe.js';
import { auditChainMigration } from './migrations/0013-audit-chain.js';
import { auditCheckpointsMigration } from './migrations/0014-audit-checkpoints.js';
import { auditChainAtCommitMigration } from './migrations/0015-audit-chain-at-commit.js';
import type { Database } from './schema.js';

/** Every migration, in code: names sort in the order they run. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-initial': initialMigration,
  '0002-signing-key-lifecycle': signingKeyLifecycleMigration,
  '0003-webhook-deliveries': webhookDeliveriesMigration,
  '0004-sealed-successor-sweep': sealedSuccessorSweepMigration,
  '0005-email-nfkc': emailNfkcMigration,
  '0006-service-clients': serviceClientsMigration,
  '0007-revocation-feed': revocationFeedMigration,
  '0009-retention': retentionMigration,
  '0010-rotation-schedule': rotationScheduleMigration,
  '0011-rotation-activity-index': rotationActivityIndexMigration,
  '0012-readiness-probe': readinessProbeMigration,
  '0013-audit-chain': auditChainMigration,
  '0014-audit-checkpoints': auditCheckpointsMigration,
  '0015-audit-chain-at-commit': auditChainAtCommitMigration,
});

class MigrationFailedError extends Error {
  readonly code = 'migration_failed';
  readonly migrationName: string | null;

  constructor(cause: unknown, migrationName: string | null) {
    super(
      `database migration ${migrationName ?? ''} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'MigrationFailedError';
    this.migrationName = migrationName;
  }
}

/**
 * Brings the current schema to the latest migration, all pending migrations in one
 * transaction (PostgreSQL DDL is transactional: all of them apply or none). Safe to
 * run again, and from several processes at once: an advisory lock keyed by the
 * schema makes them take turns, and the later ones find nothing left to do.
 *
 * Our own small runner rather than kysely's Migrator: that one introspects the
 * tables of every schema in the database, which fails when another schema is
 * dropped at the same moment (parallel test schemas, or any tenant's cleanup).
 *
 * @example
 * await migrateToLatest(db); // ['0001-initial', …] the first time, [] after
 * @returns the names of the migrations this call applied
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<readonly string[]> {
  let current: string | null = null;
  try {
    return await db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(trx);
      if (rows[0]?.schema == null) {
        throw new Error('no current schema: does the search_path name an existing schema?');
      }
      await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '/tokenwarden_migration'))`.execute(
        trx,
      );
      await sql`create table if not exists tokenwarden_migration (
        name text primary key,
        applied_at timestamptz not null default now()
      )`.execute(trx);
      const done = await sql<{ name: string }>`select name from tokenwarden_migration`.execute(trx);
      const applied = new Set(done.rows.map((row) => row.name));
      const ran: string[] = [];
      for (const name of Object.keys(MIGRATIONS).sort()) {
        if (applied.has(name)) continue;
        current = name;
        await (MIGRATIONS[name] as Migration).up(trx);
        await sql`insert into tokenwarden_migration (name) values (${name})`.execute(trx);
        ran.push(name);
      }
      return ran;
    });
  } catch (error) {
    throw new MigrationFailedError(error, current);
  }
}

/** What {@link migrationState} finds: whether the database was ever migrated, and how it compares to the code. */
export interface MigrationState {
  /** False: no migration table in the current schema (a database tokenwarden never set up). */
  readonly initialised: boolean;
  /** Migrations this code has that the database has not applied, in order. */
  readonly pending: readonly string[];
  /** The last migration the database has applied (null: none). */
  readonly latestApplied: string | null;
  /** Applied migrations this code does not know (the database was migrated by a newer version). */
  readonly unknown: readonly string[];
}

/**
 * Reads, without changing anything, how far the current schema is migrated: what the
 * operator commands check instead of migrating.
 *
 * @example
 * const { initialised, pending } = await migrationState(db);
 * if (pending.length > 0) console.log(`run tokenwarden migrate: ${pending.join(', ')}`);
 */
export async function migrationState(db: Kysely<Database>): Promise<MigrationState> {
  const { rows } = await sql<{
    present: boolean;
  }>`select to_regclass('tokenwarden_migration') is not null as present`.execute(db);
  if (rows[0]?.present !== true) {
    return { initialised: false, pending: Object.keys(MIGRATIONS).sort(), latestApplied: null, unknown: [] };
  }
  const done = await sql<{ name: string }>`select name from tokenwarden_migration order by name`.execute(db);
  const applied = done.rows.map((row) => row.name);
  const appliedSet = new Set(applied);
  return {
    initialised: true,
    pending: Object.keys(MIGRATIONS)
      .sort()
      .filter((name) => !appliedSet.has(name)),
    latestApplied: applied.at(-1) ?? null,
    unknown: applied.filter((name) => !(name in MIGRATIONS)),
  };
}
