import { describe, expect, it } from 'vitest';
import { FanOutInvalidationTransport } from './fan-out-invalidation-transport.js';
import type {
  InvalidationHandlers,
  InvalidationState,
  InvalidationTransport,
  InvalidationTransportKind,
} from './invalidation-transport.js';

class Part implements InvalidationTransport {
  readonly published: string[] = [];
  handlers: InvalidationHandlers | undefined;
  failing = false;
  closed = false;
  constructor(readonly kind: InvalidationTransportKind) {}
  start(handlers: InvalidationHandlers): void {
    this.handlers = handlers;
  }
  async publish(payload: string): Promise<void> {
    if (this.failing) throw new Error(`${this.kind} down`);
    this.published.push(payload);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

function setup() {
  const postgres = new Part('postgres');
  const redis = new Part('redis');
  const warnings: object[] = [];
  const log = { info: () => {}, warn: (o: object) => warnings.push(o) };
  const fanOut = new FanOutInvalidationTransport([postgres, redis], log);
  const states: InvalidationState[] = [];
  const messages: string[] = [];
  fanOut.start({ onMessage: (m) => messages.push(m), onStateChange: (s) => states.push(s) });
  return { postgres, redis, fanOut, states, messages, warnings };
}

describe('fan-out invalidation transport', () => {
  it('publishes on every transport and passes on what any of them receives', async () => {
    const t = setup();
    await t.fanOut.publish('m1');
    expect(t.postgres.published).toEqual(['m1']);
    expect(t.redis.published).toEqual(['m1']);
    t.postgres.handlers?.onMessage('from a CLI without Redis');
    t.redis.handlers?.onMessage('from a server');
    expect(t.messages).toEqual(['from a CLI without Redis', 'from a server']);
    await t.fanOut.close();
    expect(t.postgres.closed && t.redis.closed).toBe(true);
  });

  it('is subscribed only while every transport is, and reports each one', () => {
    const t = setup();
    t.postgres.handlers?.onStateChange('subscribed');
    expect(t.states).toEqual(['degraded']);
    t.redis.handlers?.onStateChange('subscribed');
    expect(t.states).toEqual(['degraded', 'subscribed']);
    t.redis.handlers?.onStateChange('degraded');
    expect(t.states).toEqual(['degraded', 'subscribed', 'degraded']);
    expect(t.fanOut.kind).toBe('postgres');
    expect(t.fanOut.statuses()).toEqual([
      { transport: 'postgres', state: 'subscribed' },
      { transport: 'redis', state: 'degraded' },
    ]);
  });

  it('a publish fails only when no transport took it; one failing part is logged', async () => {
    const t = setup();
    t.redis.failing = true;
    await t.fanOut.publish('m1');
    expect(t.postgres.published).toEqual(['m1']);
    expect(t.warnings).toEqual([expect.objectContaining({ transport: 'redis' })]);
    t.postgres.failing = true;
    await expect(t.fanOut.publish('m2')).rejects.toThrow(/down/);
  });
});
