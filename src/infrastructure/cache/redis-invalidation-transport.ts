import { Redis } from 'ioredis';
import {
  type InvalidationHandlers,
  type InvalidationLog,
  type InvalidationState,
  type InvalidationTransport,
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
  private state: InvalidationState = 'degraded';
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly log: InvalidationLog,
  ) {}

  start(handlers: InvalidationHandlers): void {
    const setState = (state: InvalidationState, detail: object = {}) => {
      if (this.state === state || this.closed) return;
      this.state = state;
      if (state === 'subscribed')
        this.log.info({ transport: 'redis', channel: this.channel }, 'cache invalidation subscribed');
      else
        this.log.warn(
          { transport: 'redis', ...detail },
          'cache invalidation degraded: entries use the fallback TTL',
        );
      handlers.onStateChange(state);
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
