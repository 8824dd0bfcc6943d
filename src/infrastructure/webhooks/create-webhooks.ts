import type { Kysely } from 'kysely';
import type { Clock } from '../../application/ports/clock.js';
import type { TokenGenerator } from '../../application/ports/token-generator.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';
import { KyselyWebhookDeliveries } from '../database/repositories/kysely-webhook-deliveries.js';
import type { Database } from '../database/schema.js';
import { RejectionRollup } from './rejection-rollup.js';
import { WebhookRelay, type WebhookRelayDeps, type WebhookRelayOptions } from './webhook-relay.js';

/** The outbox's way out: the relay (when URLs are configured), its admin view, the rejection rollup. */
export interface Webhooks {
  /** Null while `TOKENWARDEN_WEBHOOK_URLS` is empty: events then wait in the outbox. */
  readonly relay: WebhookRelay | null;
  readonly deliveries: KyselyWebhookDeliveries;
  readonly rejections: RejectionRollup;
  /** Starts the rollup timer (every process) — call once the core is built. */
  start(): void;
  /** Starts delivering (servers only: a short CLI run leaves delivery to them). */
  startRelay(): void;
  /** Stops the relay, then flushes the rollup; the database must still be open. */
  close(): Promise<void>;
}

/**
 * Builds the webhook side from the configuration.
 *
 * @example
 * const webhooks = createWebhooks({ db, uow, clock, tokens, config });
 * webhooks.start(); webhooks.startRelay();
 * await webhooks.close();
 */
export function createWebhooks(deps: {
  readonly db: Kysely<Database>;
  readonly uow: UnitOfWork;
  readonly clock: Clock;
  readonly tokens: TokenGenerator;
  readonly config: {
    /** The relay's options; no relay while `secret` is null or `urls` is empty. */
    readonly webhooks: Omit<WebhookRelayOptions, 'secret'> & { readonly secret: string | null };
    readonly rejectionRollupIntervalMs: number;
  };
  readonly logger?: WebhookRelayDeps['logger'];
}): Webhooks {
  const { webhooks } = deps.config;
  const rejections = new RejectionRollup(
    { uow: deps.uow, clock: deps.clock, ids: deps.tokens },
    { intervalMs: deps.config.rejectionRollupIntervalMs },
  );
  const relay =
    webhooks.urls.length > 0 && webhooks.secret !== null
      ? new WebhookRelay(
          { db: deps.db, clock: deps.clock, newId: () => deps.tokens.id(), logger: deps.logger },
          { ...webhooks, secret: webhooks.secret },
        )
      : null;
  let closing: Promise<void> | undefined;
  return {
    relay,
    deliveries: new KyselyWebhookDeliveries(deps.db, deps.clock),
    rejections,
    start: () => rejections.start(),
    startRelay: () => relay?.start(),
    close() {
      closing ??= (async () => {
        await relay?.close();
        await rejections.close();
      })();
      return closing;
    },
  };
}
