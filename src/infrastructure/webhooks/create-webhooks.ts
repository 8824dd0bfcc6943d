import type { Kysely } from 'kysely';
import type { Clock } from '../../application/ports/clock.js';
import type { TokenGenerator } from '../../application/ports/token-generator.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';
import type { Config } from '../../config.js';
import type { Database } from '../database/schema.js';
import { KyselyWebhookDeliveries } from './kysely-webhook-deliveries.js';
import { RejectionRollup } from './rejection-rollup.js';
import { WebhookRelay, type WebhookRelayDeps } from './webhook-relay.js';

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
  readonly config: Pick<Config, 'webhooks' | 'rejectionRollupIntervalMs'>;
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
