import { type Kysely, type Migration, sql } from 'kysely';

/**
 * The successor sweep finds used tokens whose sealed successor outlived the reuse
 * interval. Only rows still holding a seal are indexed, so the index stays as small
 * as the last few seconds of refreshes whatever the table's size.
 */
export const sealedSuccessorSweepMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex('refresh_tokens_sealed_used_at_idx')
      .on('refresh_tokens')
      .column('used_at')
      .where(sql.ref('successor_sealed'), 'is not', null)
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('refresh_tokens_sealed_used_at_idx').ifExists().execute();
  },
};
