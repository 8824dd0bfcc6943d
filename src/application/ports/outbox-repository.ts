import type { OutboxEvent } from '../../domain/outbox-event.js';

export interface OutboxRepository {
  append(event: OutboxEvent): Promise<void>;
}
