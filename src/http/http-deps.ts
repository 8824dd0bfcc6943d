import type { Redis } from 'ioredis';
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

/** Everything the HTTP app is built over, passed in by the composition root. */
export interface HttpDeps {
  readonly services: Services;
  readonly metrics: HttpMetrics;
  readonly jwks: () => Promise<{ readonly keys: readonly object[] }>;
  /** Whether the database answers; `/ready` reports it. */
  readonly ready: () => Promise<boolean>;
  /** The webhook relay's deliveries, for the admin endpoints (absent: no such routes). */
  readonly webhooks?: WebhookDeliveries;
  /** Cache invalidation's transport and state; `/ready` reports it (degraded is still ready: TTL). */
  readonly invalidation?: () => {
    readonly transport: 'redis' | 'postgres' | 'local';
    readonly state: 'subscribed' | 'degraded';
  };
  /**
   * Redis for the per-address limits and the per-account lock, so every instance shares
   * them (absent: this instance's memory). Keys start with `prefix`.
   */
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
  readonly sharedLimits?: { readonly redis: Redis; readonly prefix: string };
  /** The application's clock (tokens' `exp` are judged by it); absent: the system's. */
  readonly now?: () => Date;
}
