import { Redis } from 'ioredis';
import {
  type InvalidationHandlers,
  type InvalidationLog,
  type InvalidationState,
  type InvalidationTransport,
  ReportedState,
  reconnectDelayMs,
} from './invalidation-transport.js';
import { SubscriptionHeartbeat, type SubscriptionHeartbeatOptions } from './subscription-heartbeat.js';

/**
 * Redis pub/sub: one connection subscribed to the channel, one to publish on
 * (a subscribed connection can do nothing else). ioredis reconnects with our
 * backoff; we subscribe again on every `ready` and only then report `subscribed`.
 *
 * The subscription proves it is alive: a heartbeat published on the publishing
 * connection must come back on the subscribed one (subscription-heartbeat.ts). A Redis
 * that hangs, or a connection dropped without a close, is declared dead within the
 * bound and the subscriber reconnects.
 */
export class RedisInvalidationTransport implements InvalidationTransport {
  readonly kind = 'redis' as const;
  private subscriber: Redis | undefined;
  private publisher: Redis | undefined;
  private readonly state: ReportedState;
  private closed = false;
  private beat: SubscriptionHeartbeat | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    log: InvalidationLog,
    private readonly heartbeat: SubscriptionHeartbeatOptions = { intervalMs: 1_000, deadAfterMs: 3_000 },
  ) {
    this.state = new ReportedState('redis', channel, log);
  }

  start(handlers: InvalidationHandlers): void {
    const setState = (state: InvalidationState, detail: object = {}) => {
      if (!this.closed) this.state.change(state, handlers, detail);
    };
    const options = {
      autoResubscribe: false,
      connectTimeout: 2_000,
      // A connection ended on purpose (a dead subscription) is destroyed this soon if its peer is silent.
      disconnectTimeout: 200,
      retryStrategy: (times: number) => (this.closed ? null : reconnectDelayMs(times - 1)),
    };
    const subscriber = new Redis(this.url, { ...options, maxRetriesPerRequest: null });
    this.subscriber = subscriber;
    const beat = new SubscriptionHeartbeat(this.heartbeat, {
      send: (payload) => this.publish(payload),
      onDead: (silentMs) => {
        setState('degraded', { err: `no heartbeat heard for ${silentMs} ms` });
        subscriber.disconnect(true);
      },
    });
    this.beat = beat;
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).then(
        () => {
          beat.start();
          setState('subscribed');
        },
        (error: unknown) => {
          setState('degraded', { err: String(error) });
          subscriber.disconnect(true);
        },
      );
    });
    subscriber.on('message', (channel: string, payload: string) => {
      if (channel !== this.channel || beat.receive(payload)) return;
      handlers.onMessage(payload);
    });
    subscriber.on('close', () => {
      beat.stop();
      setState('degraded');
    });
    subscriber.on('error', (error: Error) => setState('degraded', { err: error.message }));

    // Publishes wait out a short reconnect, then fail: a lost message is covered by the TTL bound.
    this.publisher = new Redis(this.url, { ...options, maxRetriesPerRequest: 2 });
    this.publisher.on('error', () => {});
    handlers.onStateChange('degraded');
  }

  async publish(payload: string): Promise<void> {
    if (this.publisher === undefined) throw new Error('RedisInvalidationTransport: not started');
    await this.publisher.publish(this.channel, payload);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.beat?.stop();
    this.subscriber?.disconnect();
    this.publisher?.disconnect();
  }
}
