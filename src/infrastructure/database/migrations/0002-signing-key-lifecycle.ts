import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Signing-key rotation: `deactivated_at` records when a key stopped signing, so a
 * `verifying` key is kept exactly as long as the access tokens it signed can live.
 * At most one key is active, enforced by a partial unique index.
 */
export const signingKeyLifecycleMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('signing_keys').addColumn('deactivated_at', 'timestamptz').execute();
    // Nothing wrote these states before; give any such row a full verification window from now.
    await sql`update signing_keys set deactivated_at = coalesce(retired_at, now()) where status <> 'active'`.execute(
      db,
    );
    // Keep the newest active key if an older build ever left two.
    await sql`
      update signing_keys set status = 'verifying', deactivated_at = now()
      where status = 'active'
        and kid <> (select kid from signing_keys where status = 'active' order by created_at desc, kid limit 1)
    `.execute(db);
    await db.schema
      .createIndex('signing_keys_one_active_key')
      .on('signing_keys')
      .expression(sql`status`)
      .unique()
      .where(sql.ref('status'), '=', 'active')
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('signing_keys_one_active_key').ifExists().execute();
    await db.schema.alterTable('signing_keys').dropColumn('deactivated_at').execute();
  },
};
