import { Redis } from 'ioredis';
import {
  type InvalidationHandlers,
  type InvalidationLog,
  type InvalidationState,
  type InvalidationTransport,
  ReportedState,
  reconnectDelayMs,
} from './invalidation-transport.js';

/**
 * Redis pub/sub: one connection subscribed to the channel, one to publish on
 * (a subscribed connection can do nothing else). ioredis reconnects with our
 * backoff; we subscribe again on every `ready` and only then report `subscribed`.
 */
export class RedisInvalidationTransport implements InvalidationTransport {
  readonly kind = 'redis' as const;
  private subscriber: Redis | undefined;
  private publisher: Redis | undefined;
  private readonly state: ReportedState;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    log: InvalidationLog,
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
      retryStrategy: (times: number) => (this.closed ? null : reconnectDelayMs(times - 1)),
    };
    const subscriber = new Redis(this.url, { ...options, maxRetriesPerRequest: null });
    this.subscriber = subscriber;
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).then(
        () => setState('subscribed'),
        (error: unknown) => {
          setState('degraded', { err: String(error) });
          subscriber.disconnect(true);
        },
      );
    });
    subscriber.on('message', (channel: string, payload: string) => {
      if (channel === this.channel) handlers.onMessage(payload);
    });
    subscriber.on('close', () => setState('degraded'));
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
    this.subscriber?.disconnect();
    this.publisher?.disconnect();
  }
}
