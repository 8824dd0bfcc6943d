import type { Page } from '../../domain/page.js';
import type { Result } from '../../domain/result.js';

export type WebhookDeliveryState = 'pending' | 'delivered' | 'dead';

/** One outbox event's delivery to one webhook URL, as an operator sees it. */
export interface WebhookDeliveryRecord {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly occurredAt: Date;
  /** The receiver URL without credentials or query string. */
  readonly url: string;
  readonly state: WebhookDeliveryState;
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly lastAttemptAt: Date | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: Date | null;
  readonly deadAt: Date | null;
  readonly createdAt: Date;
}

/** What the admin API needs of the webhook relay's state. */
export interface WebhookDeliveries {
  /** Newest first; fails (`validation_failed`) on a cursor this list did not issue. */
  list(filter: {
    readonly state?: WebhookDeliveryState;
    readonly eventId?: string;
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Result<Page<WebhookDeliveryRecord>>>;
  /**
   * Puts a delivery back in the queue, due now, with its attempts reset, and audits
   * who asked. A delivered one is sent again (the receiver dedupes on the event id).
   * @returns the delivery after the change; `not_found` when there is no such delivery
   */
  retry(id: string, actor: string): Promise<Result<WebhookDeliveryRecord>>;
}
