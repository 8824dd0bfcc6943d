import type { Kysely } from 'kysely';
import type { OutboxRepository } from '../../../application/ports/outbox-repository.js';
import type { OutboxEvent } from '../../../domain/outbox-event.js';
import type { Database } from '../schema.js';

export class KyselyOutboxRepository implements OutboxRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Written in the caller's transaction; due for publishing at once. */
  async append(event: OutboxEvent): Promise<void> {
    await this.#db
      .insertInto('outbox')
      .values({
        id: event.id,
        event_type: event.type,
        payload: JSON.stringify(event.payload),
        occurred_at: event.occurredAt,
        next_attempt_at: event.occurredAt,
      })
      .execute();
  }
}
