import { type Kysely, type Migration, sql } from 'kysely';

/**
 * The whole schema of `schema.ts`. Times are timestamptz and come from the app's
 * Clock, so no column defaults to `now()`.
 */
export const initialMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('users')
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('email', 'text', (col) => col.notNull().unique().check(sql`email = lower(email)`))
      .addColumn('password_hash', 'text', (col) => col.notNull())
      .addColumn('role', 'text', (col) => col.notNull().check(sql`role in ('user', 'admin')`))
      .addColumn('min_token_version', 'integer', (col) => col.notNull().defaultTo(1))
      .addColumn('disabled_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('security_config')
      .addColumn('id', 'smallint', (col) => col.primaryKey().defaultTo(1).check(sql`id = 1`))
      .addColumn('global_min_token_version', 'integer', (col) => col.notNull().defaultTo(1))
      .addColumn('grace_period_seconds', 'integer', (col) =>
        col.notNull().defaultTo(300).check(sql`grace_period_seconds between 0 and 86400`),
      )
      .addColumn('last_rotation_at', 'timestamptz')
      .addColumn('last_rotation_reason', 'text')
      .addColumn('grace_until', 'timestamptz')
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
      .execute();
    // The singleton row. The migration has no Clock, so the database's time it is.
    await sql`insert into security_config (id, updated_at) values (1, now()) on conflict (id) do nothing`.execute(
      db,
    );

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('user_id', 'uuid', (col) => col.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addColumn('last_used_at', 'timestamptz', (col) => col.notNull())
      .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
      .addColumn('revoked_at', 'timestamptz')
      .addColumn('revoked_reason', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('ip', 'text')
      .execute();
    await db.schema.createIndex('sessions_user_id_idx').on('sessions').column('user_id').execute();

    await db.schema
      .createTable('refresh_tokens')
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('session_id', 'uuid', (col) => col.notNull().references('sessions.id').onDelete('cascade'))
      .addColumn('user_id', 'uuid', (col) => col.notNull().references('users.id').onDelete('cascade'))
      .addColumn('token_hash', 'text', (col) => col.notNull())
      .addColumn('user_version', 'integer', (col) => col.notNull())
      .addColumn('global_version', 'integer', (col) => col.notNull())
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
      .addColumn('used_at', 'timestamptz')
      .addColumn('revoked_at', 'timestamptz')
      .addColumn('parent_id', 'uuid', (col) => col.references('refresh_tokens.id').onDelete('set null'))
      .addColumn('successor_id', 'uuid')
      .addColumn('successor_sealed', 'text')
      // Checked at commit: a handler may mark the parent used before it inserts the successor.
      .addForeignKeyConstraint(
        'refresh_tokens_successor_id_fkey',
        ['successor_id'],
        'refresh_tokens',
        ['id'],
        (fk) => fk.onDelete('set null').deferrable().initiallyDeferred(),
      )
      .execute();
    await db.schema
      .createIndex('refresh_tokens_token_hash_key')
      .on('refresh_tokens')
      .column('token_hash')
      .unique()
      .execute();
    await db.schema
      .createIndex('refresh_tokens_session_id_idx')
      .on('refresh_tokens')
      .column('session_id')
      .execute();
    await db.schema
      .createIndex('refresh_tokens_user_id_idx')
      .on('refresh_tokens')
      .column('user_id')
      .execute();

    await db.schema
      .createTable('audit_log')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('occurred_at', 'timestamptz', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('action', 'text', (col) => col.notNull())
      // text, not a uuid foreign key: the trail outlives users and records attempts on ids that never existed.
      .addColumn('user_id', 'text')
      .addColumn('reason', 'text')
      .addColumn('details', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
      .execute();
    await db.schema
      .createIndex('audit_log_action_id_idx')
      .on('audit_log')
      .columns(['action', 'id'])
      .execute();
    await db.schema
      .createIndex('audit_log_user_id_id_idx')
      .on('audit_log')
      .columns(['user_id', 'id'])
      .execute();

    await db.schema
      .createTable('outbox')
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('event_type', 'text', (col) => col.notNull())
      .addColumn('payload', 'jsonb', (col) => col.notNull())
      .addColumn('occurred_at', 'timestamptz', (col) => col.notNull())
      .addColumn('published_at', 'timestamptz')
      .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'timestamptz', (col) => col.notNull())
      .addColumn('last_error', 'text')
      .addColumn('dead_at', 'timestamptz')
      .execute();
    await db.schema
      .createIndex('outbox_pending_idx')
      .on('outbox')
      .column('next_attempt_at')
      .where(sql.ref('published_at'), 'is', null)
      .where(sql.ref('dead_at'), 'is', null)
      .execute();

    await db.schema
      .createTable('signing_keys')
      .addColumn('kid', 'text', (col) => col.primaryKey())
      .addColumn('algorithm', 'text', (col) => col.notNull())
      .addColumn('public_jwk', 'jsonb', (col) => col.notNull())
      .addColumn('private_jwk', 'text', (col) => col.notNull())
      .addColumn('status', 'text', (col) =>
        col.notNull().check(sql`status in ('active', 'verifying', 'retired')`),
      )
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addColumn('retired_at', 'timestamptz')
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [
      'signing_keys',
      'outbox',
      'audit_log',
      'refresh_tokens',
      'sessions',
      'security_config',
      'users',
    ]) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
