export type InvalidationTransportKind = 'redis' | 'postgres' | 'local';

/** `degraded`: messages may be lost, so cache entries fall back to a short TTL. */
export type InvalidationState = 'subscribed' | 'degraded';

export interface InvalidationStatus {
  /** The transport every process sharing the database publishes on (`postgres` on PostgreSQL). */
  readonly transport: InvalidationTransportKind;
  /** `subscribed` only while every transport in `transports` is. */
  readonly state: InvalidationState;
  /** Each transport listened on, when there is more than one (PostgreSQL NOTIFY and Redis). */
  readonly transports?: readonly {
    readonly transport: InvalidationTransportKind;
    readonly state: InvalidationState;
  }[];
}

export interface InvalidationHandlers {
  onMessage(payload: string): void;
  onStateChange(state: InvalidationState): void;
}

/** Minimal logger (pino's shape) so transports can say why they lost their subscription. */
export interface InvalidationLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** A broadcast channel every instance subscribes to; its own messages come back to it too. */
export interface InvalidationTransport {
  readonly kind: InvalidationTransportKind;
  /** Connects and subscribes in the background; reports through the handlers, reconnects on loss. */
  start(handlers: InvalidationHandlers): void;
  publish(payload: string): Promise<void>;
  /** Ends connections and timers; no reconnect after it. */
  close(): Promise<void>;
}

/** PGlite: one process, so there is no one else to tell and nothing to lose. */
export class LocalInvalidationTransport implements InvalidationTransport {
  readonly kind = 'local' as const;

  start(handlers: InvalidationHandlers): void {
    handlers.onStateChange('subscribed');
  }

  async publish(): Promise<void> {}

  async close(): Promise<void> {}
}

/**
 * The subscription state a networked transport reports: each change once, to its
 * handlers and in the log (the channel once subscribed, the reason once degraded).
 */
export class ReportedState {
  private state: InvalidationState = 'degraded';

  constructor(
    private readonly transport: 'redis' | 'postgres',
    private readonly channel: string,
    private readonly log: InvalidationLog,
  ) {}

  change(state: InvalidationState, handlers: InvalidationHandlers | undefined, detail: object = {}): void {
    if (this.state === state) return;
    this.state = state;
    if (state === 'subscribed')
      this.log.info({ transport: this.transport, channel: this.channel }, 'cache invalidation subscribed');
    else
      this.log.warn(
        { transport: this.transport, ...detail },
        'cache invalidation degraded: entries use the fallback TTL',
      );
    handlers?.onStateChange(state);
  }
}

/** Exponential backoff with jitter: 100 ms, 200 ms, … capped at 5 s. */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(100 * 2 ** Math.max(0, attempt), 5_000);
  return Math.round(base * (0.5 + random() / 2));
}
