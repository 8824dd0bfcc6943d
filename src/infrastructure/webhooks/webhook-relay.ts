import type { Kysely } from 'kysely';
import type { Clock } from '../../application/ports/clock.js';
import { createRelayLock, type RelayLock } from '../database/relay-lock.js';
import type { AttemptOutcome, DueDelivery } from '../database/repositories/kysely-webhook-deliveries.js';
import { KyselyWebhookDeliveries } from '../database/repositories/kysely-webhook-deliveries.js';
import type { Database } from '../database/schema.js';
import { deriveWebhookSecret, signWebhook } from './webhook-signature.js';

export interface WebhookRelayOptions {
  readonly urls: readonly string[];
  /** `TOKENWARDEN_WEBHOOK_SECRET`: each URL is signed with its own secret derived from it. */
  readonly secret: string;
  /** Attempts per delivery before it is dead-lettered. */
  readonly maxAttempts: number;
  /** Per request, connect to last byte. */
  readonly timeoutMs: number;
  /** First retry after about this long, doubling each time up to `backoffMaxMs`. */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** How often the relay looks for new events and due retries. */
  readonly pollIntervalMs: number;
  /** Deliveries attempted per pass. Default 50. */
  readonly batchSize?: number;
  /** Requests in flight at once. Default 8. */
  readonly concurrency?: number;
}

export interface WebhookRelayDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly newId: () => string;
  /** Default: an advisory lock on PostgreSQL, an in-process one on PGlite. */
  readonly lock?: RelayLock;
  /** For jitter; tests pin it. */
  readonly random?: () => number;
  readonly fetch?: typeof fetch;
  readonly logger?: {
    warn(details: object, message: string): void;
    error(details: object, message: string): void;
  };
}

export interface RelayPass {
  /** False when another relay holds the lock and this one did nothing. */
  readonly leader: boolean;
  readonly fannedOut: number;
  readonly delivered: number;
  readonly failed: number;
  readonly deadLettered: number;
}

const USER_AGENT = 'tokenwarden-webhooks/1';
const MAX_ERROR_LENGTH = 500;

/**
 * Delivers outbox events to the configured webhook URLs, at least once.
 *
 * Each pass (one relay at a time over a database, see {@link RelayLock}): fan new
 * outbox events out into one pending delivery per URL, then POST the due ones —
 * signed with that URL's own secret, with the event id as idempotency key — and record each outcome: delivered,
 * due again after an exponential backoff with jitter, or dead-lettered (with an audit
 * row) after `maxAttempts`. All state is in the database, so a restart resumes; a
 * crash between a 2xx and its record means the event is sent again, which the
 * idempotency key makes harmless.
 *
 * It runs beside request handling on its own timer, holds no transaction while a
 * request is in flight, and `close()` aborts what is in flight and lets go of the lock.
 *
 * @example
 * const relay = new WebhookRelay({ db, clock, newId: () => crypto.randomUUID() }, options);
 * relay.start();
 * // …
 * await relay.close();
 */
/** How long a closing relay lets the attempts under way finish. */
const CLOSE_GRACE_MS = 5_000;

export class WebhookRelay {
  readonly #deps: WebhookRelayDeps;
  readonly #options: WebhookRelayOptions;
  readonly #store: KyselyWebhookDeliveries;
  /** Closing: no new pass, no new attempt. */
  readonly #closing = new AbortController();
  /** Attempts under way are abandoned (they stay due): past the close's grace. */
  readonly #abandon = new AbortController();
  readonly #secrets = new Map<string, string>();
  #lock: Promise<RelayLock> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #pass: Promise<RelayPass> | null = null;
  #started = false;

  constructor(deps: WebhookRelayDeps, options: WebhookRelayOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#store = new KyselyWebhookDeliveries(deps.db, deps.clock);
    if (deps.lock !== undefined) this.#lock = Promise.resolve(deps.lock);
  }

  /** Starts the background loop (idempotent); the first pass runs at once. */
  start(): void {
    if (this.#started || this.#closing.signal.aborted) return;
    this.#started = true;
    this.#schedule(0);
  }

  /**
   * One pass, now. The loop calls it; tests call it to step the relay without timers.
   * Passes never overlap: a call during one waits for it and then runs its own.
   */
  runOnce(): Promise<RelayPass> {
    const previous = this.#pass ?? Promise.resolve(undefined);
    const pass = previous.catch(() => undefined).then(() => this.#runPass());
    this.#pass = pass;
    return pass;
  }

  /**
   * Stops the loop and starts no new attempt; the attempts under way finish and are recorded
   * (a receiver that answers is not sent the event again), for up to `graceMs`, after which
   * they are abandoned and stay due. Then the lock is released.
   */
  async close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const abandon = setTimeout(() => this.#abandon.abort(), graceMs);
    await this.#pass?.catch(() => undefined);
    clearTimeout(abandon);
    const lock = await this.#lock?.catch(() => null);
    await lock?.release();
  }

  /** The delay before attempt `attempts + 1`: exponential, capped, with "equal jitter". */
  backoffMs(attempts: number): number {
    const { backoffBaseMs, backoffMaxMs } = this.#options;
    const exponential = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, attempts - 1));
    const random = this.#deps.random ?? Math.random;
    return Math.round(exponential / 2 + (random() * exponential) / 2);
  }

  #schedule(delayMs: number): void {
    if (this.#closing.signal.aborted) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.runOnce()
        .then((pass) => {
          const busy = pass.fannedOut + pass.delivered + pass.failed + pass.deadLettered > 0;
          // A full pass likely left more work: go again at once rather than after the interval.
          this.#schedule(busy && pass.leader ? 0 : this.#options.pollIntervalMs);
        })
        .catch((error: unknown) => {
          this.#deps.logger?.error({ err: error }, 'webhook relay pass failed; retrying');
          this.#schedule(this.#options.pollIntervalMs);
        });
    }, delayMs);
    // The relay alone never keeps a process (a CLI command, say) alive.
    this.#timer.unref();
  }

  async #runPass(): Promise<RelayPass> {
    const idle = { fannedOut: 0, delivered: 0, failed: 0, deadLettered: 0 };
    if (this.#closing.signal.aborted) return { leader: false, ...idle };
    this.#lock ??= createRelayLock(this.#deps.db);
    const lock = await this.#lock.catch((error: unknown) => {
      this.#lock = null;
      throw error;
    });
    if (!(await lock.acquire())) return { leader: false, ...idle };

    const { urls } = this.#options;
    const batchSize = this.#options.batchSize ?? 50;
    const fannedOut = await this.#store.fanOut(urls, this.#deps.clock.now(), this.#deps.newId, batchSize);
    const due = await this.#store.due(urls, this.#deps.clock.now(), batchSize);
    const counts = { delivered: 0, failed: 0, deadLettered: 0 };
    const queue = [...due];
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        if (this.#closing.signal.aborted) return;
        const outcome = await this.#attempt(next);
        if (outcome === 'aborted') return;
        counts[outcome] += 1;
      }
    };
    const workers = Math.min(this.#options.concurrency ?? 8, queue.length);
    await Promise.all(Array.from({ length: workers }, worker));
    return { leader: true, fannedOut, ...counts };
  }

  /** The URL's own signing secret, so a delivery replayed to another receiver does not verify there. */
  #secretFor(url: string): string {
    let secret = this.#secrets.get(url);
    if (secret === undefined) {
      secret = deriveWebhookSecret(this.#options.secret, url);
      this.#secrets.set(url, secret);
    }
    return secret;
  }

  async #attempt(delivery: DueDelivery): Promise<'delivered' | 'failed' | 'deadLettered' | 'aborted'> {
    const { event } = delivery;
    const body = JSON.stringify({
      id: event.id,
      type: event.type,
      occurredAt: event.occurredAt.toISOString(),
      payload: event.payload,
    });
    const sentAt = this.#deps.clock.now();
    let outcome: AttemptOutcome;
    try {
      const response = await (this.#deps.fetch ?? fetch)(delivery.url, {
        method: 'POST',
        body,
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'x-tokenwarden-event-id': event.id,
          'x-tokenwarden-event-type': event.type,
          'idempotency-key': event.id,
          'x-tokenwarden-delivery-attempt': String(delivery.attempts + 1),
          'x-tokenwarden-signature': signWebhook(this.#secretFor(delivery.url), body, sentAt),
        },
        signal: AbortSignal.any([AbortSignal.timeout(this.#options.timeoutMs), this.#abandon.signal]),
      });
      // Only the status matters; do not let a large answer hold the socket.
      await response.body?.cancel().catch(() => undefined);
      outcome = {
        at: this.#deps.clock.now(),
        status: response.status,
        error: response.ok ? null : `HTTP ${response.status}`,
      };
    } catch (error) {
      if (this.#abandon.signal.aborted) return 'aborted';
      outcome = { at: this.#deps.clock.now(), status: null, error: describe(error, this.#options.timeoutMs) };
    }

    if (outcome.error === null) {
      await this.#store.recordDelivered(delivery, outcome);
      return 'delivered';
    }
    const retryAt = new Date(outcome.at.getTime() + this.backoffMs(delivery.attempts + 1));
    const state = await this.#store.recordFailed(delivery, outcome, this.#options.maxAttempts, retryAt);
    if (state === 'dead') {
      this.#deps.logger?.warn(
        { deliveryId: delivery.id, eventId: event.id, attempts: delivery.attempts + 1, error: outcome.error },
        'webhook delivery dead-lettered',
      );
      return 'deadLettered';
    }
    return 'failed';
  }
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `timed out after ${timeoutMs} ms`;
  }
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const detail = cause?.code ?? cause?.message;
  return (detail === undefined ? message : `${message}: ${detail}`).slice(0, MAX_ERROR_LENGTH);
}
