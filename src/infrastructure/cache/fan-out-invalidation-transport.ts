import type {
  InvalidationHandlers,
  InvalidationLog,
  InvalidationState,
  InvalidationStatus,
  InvalidationTransport,
} from './invalidation-transport.js';

/**
 * Several transports as one: every message is published on each and every message
 * received on any is passed on. Invalidation messages only drop cache entries, so one
 * arriving twice costs a reload, never a wrong answer. The state is `subscribed` only
 * while every part is: a part that is down may be the one a peer published on.
 *
 * On PostgreSQL the parts are NOTIFY (which every process sharing the database, a CLI
 * without `REDIS_URL` included, publishes on) and Redis when configured.
 */
export class FanOutInvalidationTransport implements InvalidationTransport {
  readonly kind: InvalidationTransport['kind'];
  private readonly states: InvalidationState[];
  private combined: InvalidationState = 'degraded';

  constructor(
    private readonly parts: readonly InvalidationTransport[],
    private readonly log: InvalidationLog,
  ) {
    if (parts.length === 0) throw new Error('FanOutInvalidationTransport needs at least one transport');
    this.kind = (parts[0] as InvalidationTransport).kind;
    this.states = parts.map(() => 'degraded');
  }

  start(handlers: InvalidationHandlers): void {
    handlers.onStateChange('degraded');
    this.parts.forEach((part, index) => {
      part.start({
        onMessage: (payload) => handlers.onMessage(payload),
        onStateChange: (state) => {
          this.states[index] = state;
          const combined = this.states.every((s) => s === 'subscribed') ? 'subscribed' : 'degraded';
          if (combined === this.combined) return;
          this.combined = combined;
          handlers.onStateChange(combined);
        },
      });
    });
  }

  /** Each part's own state, for `/ready` and `/metrics`. */
  statuses(): InvalidationStatus[] {
    return this.parts.map((part, index) => ({
      transport: part.kind,
      state: this.states[index] ?? 'degraded',
    }));
  }

  /** Succeeds when one part took the message; a part that failed is logged (the others still carry it). */
  async publish(payload: string): Promise<void> {
    const results = await Promise.allSettled(this.parts.map((part) => part.publish(payload)));
    const failed = results.flatMap((r, index) =>
      r.status === 'rejected' ? [{ index, reason: r.reason }] : [],
    );
    if (failed.length === results.length) throw failed[0]?.reason;
    for (const { index, reason } of failed) {
      this.log.warn(
        { transport: this.parts[index]?.kind, err: String(reason) },
        'cache invalidation not published on one transport: the others carried it',
      );
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.parts.map((part) => part.close()));
  }
}
