import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { ThrottleStore } from '../application/ports/login-throttle-store.js';
import type { WebhookDeliveries } from '../application/ports/webhook-deliveries.js';
import type { Services } from '../application/services.js';

/**
 * What the HTTP layer reports and serves at `/metrics`. The composition root passes the
 * Prometheus adapter; http names only what it calls.
 */
interface HttpMetrics {
  /** One answered request: counted by method, route and status, timed by method and route. */
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  /** The `/metrics` body in the exposition format, and its content type. */
  scrape(): Promise<{ readonly contentType: string; readonly body: string }>;
}

type SubscriptionState = 'subscribed' | 'degraded';
type TransportKind = 'redis' | 'postgres' | 'local';

/**
 * Each part an instance needs, as `/ready` reports it. `failing` names the parts that
 * make it not ready (empty: ready).
 */
export interface Readiness {
  readonly database: 'up' | 'down' | 'read_only' | 'timeout';
  /** The shared rate limits' Redis, when configured. */
  readonly redis?: 'up' | 'down';
  readonly invalidation?: {
    readonly transport: TransportKind;
    readonly state: SubscriptionState;
    readonly transports?: readonly { readonly transport: TransportKind; readonly state: SubscriptionState }[];
  };
  readonly failing: readonly ('database' | 'redis' | 'invalidation')[];
}

/** Everything the HTTP app is built over, passed in by the composition root. */
export interface HttpDeps {
  readonly services: Services;
  readonly metrics: HttpMetrics;
  readonly jwks: () => Promise<{ readonly keys: readonly object[] }>;
  /** The public key that signs audit checkpoints, as a JWK Set (never a token key); absent: no such route. */
  readonly auditKeys?: () => Promise<{ readonly keys: readonly object[] }>;
  /** What `/ready` reports: each part's state, checked within a bounded time. */
  readonly readiness: () => Promise<Readiness>;
  /** The webhook relay's deliveries, for the admin endpoints (absent: no such routes). */
  readonly webhooks?: WebhookDeliveries;
  /** How many receivers TOKENWARDEN_WEBHOOK_URLS names (0: events wait in the outbox). */
  readonly webhookReceivers?: number;
  /**
   * Subscribes to committed changes seen by this instance (its own and, through the
   * invalidation fan-out, every other's); returns the unsubscribe. The revocation feed's
   * streams wake on it. Absent: they rely on the heartbeat poll.
   */
  readonly onRevocationChange?: (listener: () => void) => () => void;
  /**
   * Subscribes to service-client revocations (this instance's and, through the same fan-out,
   * every other's); returns the unsubscribe. The feed ends the streams the client opened.
   */
  readonly onServiceClientRevoked?: (listener: (clientId: string) => void) => () => void;
  /**
   * Stores shared by every instance (Redis) for the per-address limits and the per-account
   * lock (absent: this instance's memory).
   */
  readonly sharedLimits?: {
    /** @fastify/rate-limit's `store`; `onError` hears each failure it answered from memory instead. */
    readonly rateLimitStore: (onError: (error: unknown) => void) => FastifyRateLimitStoreCtor;
    /** The per-account failures, in windows of `windowSeconds`. */
    readonly throttleStore: (windowSeconds: number) => ThrottleStore;
  };
  /** The application's clock (tokens' `exp` are judged by it); absent: the system's. */
  readonly now?: () => Date;
}
