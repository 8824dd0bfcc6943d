import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Per-URL delivery state of outbox events. The outbox row's `published_at` says the
 * event was fanned out into one row here per configured URL; each row then lives its
 * own life (retries, backoff, dead letter), so one failing receiver never holds back
 * another. Everything is in the database, so a restart picks up where it stopped.
 */
export const webhookDeliveriesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('event_id', 'uuid', (col) => col.notNull().references('outbox.id').onDelete('cascade'))
      .addColumn('url', 'text', (col) => col.notNull())
      .addColumn('state', 'text', (col) =>
        col.notNull().check(sql`state in ('pending', 'delivered', 'dead')`),
      )
      .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'timestamptz', (col) => col.notNull())
      .addColumn('last_attempt_at', 'timestamptz')
      .addColumn('last_status', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('delivered_at', 'timestamptz')
      .addColumn('dead_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addUniqueConstraint('webhook_deliveries_event_id_url_key', ['event_id', 'url'])
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_due_idx')
      .on('webhook_deliveries')
      .column('next_attempt_at')
      .where(sql.ref('state'), '=', 'pending')
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_state_id_idx')
      .on('webhook_deliveries')
      .columns(['state', 'created_at', 'id'])
      .execute();
    // The fan-out looks for events not yet handed to the relay.
    await db.schema
      .createIndex('outbox_unpublished_idx')
      .on('outbox')
      .columns(['occurred_at', 'id'])
      .where(sql.ref('published_at'), 'is', null)
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('outbox_unpublished_idx').ifExists().execute();
    await db.schema.dropTable('webhook_deliveries').ifExists().execute();
  },
};
