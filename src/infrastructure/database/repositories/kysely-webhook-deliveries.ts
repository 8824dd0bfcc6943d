import type { Kysely } from 'kysely';
import { asResult } from '../../../application/as-result.js';
import { AuditAction } from '../../../application/events.js';
import type { Clock } from '../../../application/ports/clock.js';
import type {
  WebhookDeliveries,
  WebhookDeliveryRecord,
  WebhookDeliveryState,
} from '../../../application/ports/webhook-deliveries.js';
import { TokenwardenError } from '../../../domain/errors.js';
import type { Page } from '../../../domain/page.js';
import { err, ok, type Result } from '../../../domain/result.js';
import { pageByCreatedAt } from '../page-by-created-at.js';
import type { Database } from '../schema.js';
import { KyselyAuditRepository } from './kysely-audit-repository.js';

/** A delivery the relay is about to attempt, with the event it carries. */
export interface DueDelivery {
  readonly id: string;
  readonly url: string;
  readonly attempts: number;
  readonly event: {
    readonly id: string;
    readonly type: string;
    readonly occurredAt: Date;
    readonly payload: Record<string, unknown>;
  };
}

export interface AttemptOutcome {
  readonly at: Date;
  /** HTTP status, or null when no answer came (refused, timed out). */
  readonly status: number | null;
  readonly error: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The SQL of webhook delivery: fan-out from the outbox, picking due deliveries,
 * recording attempts (and the dead letter's audit row), and the admin's view.
 */
export class KyselyWebhookDeliveries implements WebhookDeliveries {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;

  constructor(db: Kysely<Database>, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /**
   * Deliveries waiting for an attempt (the backlog) and dead letters, for `/metrics`.
   * One grouped count over the (state, id) index.
   */
  async backlog(): Promise<{ readonly pending: number; readonly dead: number }> {
    const rows = await this.#db
      .selectFrom('webhook_deliveries')
      .select(['state', (eb) => eb.fn.countAll<string>().as('count')])
      .where('state', 'in', ['pending', 'dead'])
      .groupBy('state')
      .execute();
    const count = (state: string) => Number(rows.find((row) => row.state === state)?.count ?? 0);
    return { pending: count('pending'), dead: count('dead') };
  }

  /**
   * Turns up to `limit` unpublished outbox events into one pending delivery per URL
   * and marks them published, in one transaction: an event is never half fanned out.
   * @returns how many events were fanned out
   */
  async fanOut(urls: readonly string[], now: Date, newId: () => string, limit: number): Promise<number> {
    return this.#db.transaction().execute(async (trx) => {
      const events = await trx
        .selectFrom('outbox')
        .select(['id', 'occurred_at'])
        .where('published_at', 'is', null)
        .orderBy('occurred_at')
        .orderBy('id')
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .execute();
      if (events.length === 0) return 0;
      if (urls.length > 0) {
        await trx
          .insertInto('webhook_deliveries')
          .values(
            events.flatMap((event) =>
              urls.map((url) => ({
                id: newId(),
                event_id: event.id,
                url,
                state: 'pending' as const,
                next_attempt_at: now,
                created_at: now,
              })),
            ),
          )
          .onConflict((oc) => oc.columns(['event_id', 'url']).doNothing())
          .execute();
      }
      await trx
        .updateTable('outbox')
        .set({ published_at: now })
        .where(
          'id',
          'in',
          events.map((event) => event.id),
        )
        .execute();
      return events.length;
    });
  }

  /** Pending deliveries to the configured URLs whose time has come, oldest due first. */
  async due(urls: readonly string[], now: Date, limit: number): Promise<DueDelivery[]> {
    if (urls.length === 0) return [];
    const rows = await this.#db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('outbox as o', 'o.id', 'd.event_id')
      .select([
        'd.id',
        'd.url',
        'd.attempts',
        'o.id as event_id',
        'o.event_type',
        'o.occurred_at',
        'o.payload',
      ])
      .where('d.state', '=', 'pending')
      .where('d.next_attempt_at', '<=', now)
      .where('d.url', 'in', [...urls])
      .orderBy('d.next_attempt_at')
      .orderBy('d.id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      id: row.id,
      url: row.url,
      attempts: row.attempts,
      event: { id: row.event_id, type: row.event_type, occurredAt: row.occurred_at, payload: row.payload },
    }));
  }

  /**
   * The receiver took it. Applies only if nobody touched the row since it was picked
   * (`attempts` unchanged): an admin retry in between wins.
   */
  async recordDelivered(delivery: DueDelivery, outcome: AttemptOutcome): Promise<void> {
    await this.#db
      .updateTable('webhook_deliveries')
      .set({
        state: 'delivered',
        attempts: delivery.attempts + 1,
        last_attempt_at: outcome.at,
        last_status: outcome.status,
        last_error: null,
        delivered_at: outcome.at,
      })
      .where('id', '=', delivery.id)
      .where('state', '=', 'pending')
      .where('attempts', '=', delivery.attempts)
      .execute();
  }

  /**
   * A failed attempt: due again at `retryAt`, or, at `maxAttempts`, dead-lettered with
   * an audit row in the same transaction so `audit list` shows it.
   * @returns the delivery's state after this attempt
   */
  async recordFailed(
    delivery: DueDelivery,
    outcome: AttemptOutcome,
    maxAttempts: number,
    retryAt: Date,
  ): Promise<WebhookDeliveryState> {
    const attempts = delivery.attempts + 1;
    const dead = attempts >= maxAttempts;
    return this.#db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('webhook_deliveries')
        .set({
          state: dead ? 'dead' : 'pending',
          attempts,
          next_attempt_at: dead ? outcome.at : retryAt,
          last_attempt_at: outcome.at,
          last_status: outcome.status,
          last_error: outcome.error,
          dead_at: dead ? outcome.at : null,
        })
        .where('id', '=', delivery.id)
        .where('state', '=', 'pending')
        .where('attempts', '=', delivery.attempts)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) return 'pending';
      if (dead) {
        await new KyselyAuditRepository(trx).append({
          occurredAt: outcome.at,
          actor: 'system',
          action: AuditAction.WebhookDeadLettered,
          userId: null,
          reason: `gave up after ${attempts} attempts: ${outcome.error ?? 'failed'}`,
          details: {
            deliveryId: delivery.id,
            eventId: delivery.event.id,
            eventType: delivery.event.type,
            url: displayUrl(delivery.url),
            attempts,
            lastStatus: outcome.status,
          },
        });
      }
      return dead ? 'dead' : 'pending';
    });
  }

  /** Newest first; the cursor is the last (created_at, id) seen. */
  list(filter: {
    readonly state?: WebhookDeliveryState;
    readonly eventId?: string;
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Result<Page<WebhookDeliveryRecord>>> {
    return asResult(() => this.#list(filter));
  }

  async #list(filter: {
    readonly state?: WebhookDeliveryState;
    readonly eventId?: string;
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Page<WebhookDeliveryRecord>> {
    let query = this.#db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('outbox as o', 'o.id', 'd.event_id')
      .selectAll('d')
      .select(['o.event_type', 'o.occurred_at']);
    if (filter.state !== undefined) query = query.where('d.state', '=', filter.state);
    if (filter.eventId !== undefined) query = query.where('d.event_id', '=', filter.eventId);
    return pageByCreatedAt(query, filter, 'desc', toRecord, 'd');
  }

  async retry(id: string, actor: string): Promise<Result<WebhookDeliveryRecord>> {
    const notFound = () => err(new TokenwardenError('not_found', `No webhook delivery with id ${id}`));
    if (!UUID.test(id)) return notFound();
    const now = this.#clock.now();
    const changed = await this.#db.transaction().execute(async (trx) => {
      const before = await trx
        .selectFrom('webhook_deliveries')
        .select(['id', 'event_id', 'state', 'attempts', 'url'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (before === undefined) return false;
      await trx
        .updateTable('webhook_deliveries')
        .set({ state: 'pending', attempts: 0, next_attempt_at: now, dead_at: null, delivered_at: null })
        .where('id', '=', id)
        .execute();
      await new KyselyAuditRepository(trx).append({
        occurredAt: now,
        actor,
        action: AuditAction.WebhookRetryRequested,
        userId: null,
        reason: null,
        details: {
          deliveryId: id,
          eventId: before.event_id,
          url: displayUrl(before.url),
          previousState: before.state,
          previousAttempts: before.attempts,
        },
      });
      return true;
    });
    if (!changed) return notFound();
    const page = await this.#db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('outbox as o', 'o.id', 'd.event_id')
      .selectAll('d')
      .select(['o.event_type', 'o.occurred_at'])
      .where('d.id', '=', id)
      .executeTakeFirst();
    return page === undefined ? notFound() : ok(toRecord(page));
  }
}

/** A URL fit to show and audit: no credentials, no query string (receivers put tokens there). */
function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search === '' ? '' : '?…'}`;
  } catch {
    return '(invalid url)';
  }
}

function toRecord(row: {
  id: string;
  event_id: string;
  event_type: string;
  occurred_at: Date;
  url: string;
  state: WebhookDeliveryState;
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  dead_at: Date | null;
  created_at: Date;
}): WebhookDeliveryRecord {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    occurredAt: row.occurred_at,
    url: displayUrl(row.url),
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastAttemptAt: row.last_attempt_at,
    lastStatus: row.last_status,
    lastError: row.last_error,
    deliveredAt: row.delivered_at,
    deadAt: row.dead_at,
    createdAt: row.created_at,
  };
}
