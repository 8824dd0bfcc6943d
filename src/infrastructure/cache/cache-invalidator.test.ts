import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.js';
import { AccessStateCache } from './access-state-cache.js';
import type { AccessStateSource } from './access-state-source.js';
import { CacheInvalidator } from './cache-invalidator.js';
import { decodeInvalidation, encodeInvalidation } from './invalidation-message.js';
import {
  type InvalidationHandlers,
  type InvalidationTransport,
  reconnectDelayMs,
} from './invalidation-transport.js';

class FakeTransport implements InvalidationTransport {
  readonly kind = 'redis' as const;
  handlers: InvalidationHandlers | undefined;
  readonly published: string[] = [];
  closed = false;
  start(handlers: InvalidationHandlers): void {
    this.handlers = handlers;
  }
  async publish(payload: string): Promise<void> {
    this.published.push(payload);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const silent = { info() {}, warn() {} };

function setup() {
  let minTokenVersion = 1;
  let reads = 0;
  const source: AccessStateSource = {
    securityConfig: async () => ({
      globalMinTokenVersion: 1,
      gracePeriodSeconds: 0,
      lastRotationAt: null,
      lastRotationReason: null,
      graceUntil: null,
      updatedAt: new Date(0),
    }),
    user: async (id) => {
      reads += 1;
      return { id, role: 'user', minTokenVersion, disabledAt: null };
    },
    session: async (id) => ({
      id,
      userId: 'u1',
      revokedAt: null,
      expiresAt: new Date('2100-01-01T00:00:00Z'),
    }),
  };
  const cache = new AccessStateCache(source, new ManualClock(), {
    maxEntries: 10,
    ttlSeconds: 60,
    fallbackTtlSeconds: 5,
  });
  const transport = new FakeTransport();
  const keys = { reload: vi.fn(async () => {}) };
  const invalidator = new CacheInvalidator(cache, transport, keys, silent);
  invalidator.start();
  transport.handlers?.onStateChange('subscribed');
  return {
    cache,
    transport,
    keys,
    invalidator,
    bump: () => {
      minTokenVersion += 1;
    },
    reads: () => reads,
  };
}

describe('CacheInvalidator', () => {
  it('drops the local entry at once and publishes the change', async () => {
    const t = setup();
    await t.cache.read('u1', 's1');
    t.bump();
    t.invalidator.userVersionChanged('u1', 2);
    expect((await t.cache.read('u1', 's1')).user?.minTokenVersion).toBe(2);
    expect(t.transport.published.map((p) => decodeInvalidation(p)?.message)).toEqual([
      { kind: 'user', userId: 'u1' },
    ]);
  });

  it("applies another instance's message, and skips its own echo", async () => {
    const t = setup();
    await t.cache.read('u1', 's1');
    t.invalidator.userChanged('u1');
    const own = t.transport.published[0] ?? '';
    await t.cache.read('u1', 's1');
    const reads = t.reads();
    t.transport.handlers?.onMessage(own);
    await t.cache.read('u1', 's1');
    expect(t.reads()).toBe(reads);

    t.transport.handlers?.onMessage(encodeInvalidation('other-instance', { kind: 'user', userId: 'u1' }));
    await t.cache.read('u1', 's1');
    expect(t.reads()).toBe(reads + 1);
  });

  it('reloads signing keys on the sender and on every receiver', () => {
    const t = setup();
    t.invalidator.signingKeysChanged();
    expect(t.keys.reload).toHaveBeenCalledTimes(1);
    t.transport.handlers?.onMessage(encodeInvalidation('other-instance', { kind: 'keys' }));
    expect(t.keys.reload).toHaveBeenCalledTimes(2);
  });

  it("tells its listeners of a revoked service client, its own and every other instance's", () => {
    const t = setup();
    const heard: string[] = [];
    const stop = t.invalidator.onServiceClientRevoked((clientId) => heard.push(clientId));
    t.invalidator.serviceClientRevoked('c1');
    expect(decodeInvalidation(t.transport.published[0] ?? '')?.message).toEqual({
      kind: 'service-client',
      clientId: 'c1',
    });
    t.transport.handlers?.onMessage(
      encodeInvalidation('other-instance', { kind: 'service-client', clientId: 'c2' }),
    );
    stop();
    t.transport.handlers?.onMessage(
      encodeInvalidation('other-instance', { kind: 'service-client', clientId: 'c3' }),
    );
    expect(heard).toEqual(['c1', 'c2']);
    expect(decodeInvalidation(JSON.stringify({ v: 1, o: 'x', k: 'service-client' }))).toBeNull();
  });

  it('reports its state, and reloads keys when a lost subscription comes back', () => {
    const t = setup();
    expect(t.invalidator.status()).toEqual({ transport: 'redis', state: 'subscribed' });
    t.transport.handlers?.onStateChange('degraded');
    expect(t.invalidator.status()).toEqual({ transport: 'redis', state: 'degraded' });
    t.transport.handlers?.onStateChange('subscribed');
    expect(t.keys.reload).toHaveBeenCalledTimes(1);
  });

  it('closes the transport', async () => {
    const t = setup();
    t.invalidator.globalVersionChanged(2);
    await t.invalidator.close();
    expect(t.transport.closed).toBe(true);
  });

  it('ignores malformed messages', () => {
    for (const bad of [
      '',
      'nope',
      '{}',
      '{"v":1,"o":"x","k":"user"}',
      '{"v":2,"o":"x","k":"global"}',
      'null',
    ]) {
      expect(decodeInvalidation(bad)).toBeNull();
    }
    expect(decodeInvalidation(encodeInvalidation('a', { kind: 'session', sessionId: 's' }))).toEqual({
      origin: 'a',
      message: { kind: 'session', sessionId: 's' },
    });
  });

  it('backs off exponentially up to 5 s', () => {
    expect(reconnectDelayMs(0, () => 1)).toBe(100);
    expect(reconnectDelayMs(3, () => 1)).toBe(800);
    expect(reconnectDelayMs(20, () => 1)).toBe(5_000);
    expect(reconnectDelayMs(20, () => 0)).toBe(2_500);
  });
});
