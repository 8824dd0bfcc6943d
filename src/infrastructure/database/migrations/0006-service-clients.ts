import type { Kysely, Migration } from 'kysely';

/**
 * Service clients: the credentials other services present to the revocation feed. The
 * secret itself is never stored, only its SHA-256 (unique, like refresh-token hashes).
 * Names are labels and may repeat: replacing a credential means creating a new client
 * under the same name, moving the service over, then revoking the old one.
 */
export const serviceClientsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('service_clients')
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('name', 'text', (col) => col.notNull())
      .addColumn('secret_hash', 'text', (col) => col.notNull().unique())
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addColumn('created_by', 'text', (col) => col.notNull())
      .addColumn('revoked_at', 'timestamptz')
      .addColumn('revoked_by', 'text')
      .execute();
    await db.schema
      .createIndex('service_clients_created_at_id_idx')
      .on('service_clients')
      .columns(['created_at', 'id'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('service_clients').ifExists().execute();
  },
};
