/**
 * Seeds live refresh tokens in bulk with INSERT … SELECT generate_series: one live
 * token per session, ten sessions per user, every row valid now. Hashes are
 * `md5(n) || md5(n+1)` (64 hex characters, like a SHA-256), so pgbench can name
 * token n without a lookup table. Ids are deterministic uuids from md5.
 */
import { type Kysely, sql } from 'kysely';
import { createDatabase } from '../../src/infrastructure/database/create-database.js';
import { migrateToLatest } from '../../src/infrastructure/database/migrator.js';
import type { Database } from '../../src/infrastructure/database/schema.js';

/** The schema the server puts its tables in by default, where pgbench and the seeding look too. */
export const SCHEMA = 'tokenwarden';

/** Adds tokens `from..to` (inclusive) with their sessions and users. */
export async function seedTokens(db: Kysely<Database>, from: number, to: number): Promise<void> {
  const password = '$argon2id$v=19$m=19456,t=2,p=1$c2VlZHNlZWRzZWVk$c2VlZHNlZWRzZWVkc2VlZHNlZWRzZWVkc2VlZA';
  await sql`
    insert into users (id, email, password_hash, role, min_token_version, created_at, updated_at)
    select md5('u' || u)::uuid, 'seed' || u || '@example.com', ${password}, 'user', 1, now(), now()
    from generate_series(${Math.ceil(from / 10)}::int, ${Math.ceil(to / 10)}::int) as u
    on conflict do nothing`.execute(db);
  await sql`
    insert into sessions (id, user_id, created_at, last_used_at, expires_at)
    select md5('s' || n)::uuid, md5('u' || ((n + 9) / 10))::uuid, now(), now(), now() + interval '30 days'
    from generate_series(${from}::int, ${to}::int) as n`.execute(db);
  await sql`
    insert into refresh_tokens (id, session_id, user_id, token_hash, user_version, global_version, created_at, expires_at)
    select md5('t' || n)::uuid, md5('s' || n)::uuid, md5('u' || ((n + 9) / 10))::uuid,
           md5(n::text) || md5((n + 1)::text),
           1, (select global_min_token_version from security_config where id = 1),
           now(), now() + interval '14 days'
    from generate_series(${from}::int, ${to}::int) as n`.execute(db);
  await sql`analyze`.execute(db);
}

/**
 * {@link seedTokens} `from..to` into {@link SCHEMA} of the PostgreSQL database at `url`, on a
 * connection of its own: migrated first with `migrate` (no server has started on it yet);
 * with `create: false` a schema that is not set up is refused rather than created.
 */
export async function seedPostgres(
  url: string,
  from: number,
  to: number,
  options: { readonly migrate?: boolean; readonly create?: boolean } = {},
): Promise<void> {
  const database = await createDatabase({
    kind: 'postgres',
    url,
    schema: SCHEMA,
    poolSize: 2,
    ...(options.create === undefined ? {} : { create: options.create }),
  });
  try {
    if (options.migrate === true) await migrateToLatest(database.db);
    await seedTokens(database.db, from, to);
  } finally {
    await database.close();
  }
}
