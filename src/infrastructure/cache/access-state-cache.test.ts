import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.js';
import type { SessionAccessState, UserAccessState } from '../../application/ports/access-state-reader.js';
import type { SecurityConfig } from '../../domain/versions.js';
import { AccessStateCache, type AccessStateCacheOptions } from './access-state-cache.js';
import type { AccessStateSource } from './access-state-source.js';

const FAR_FUTURE = new Date('2100-01-01T00:00:00Z');

const CONFIG: SecurityConfig = {
  globalMinTokenVersion: 1,
  gracePeriodSeconds: 300,
  lastRotationAt: null,
  lastRotationReason: null,
  graceUntil: null,
  updatedAt: new Date(0),
};

/** An in-memory database the tests change behind the cache's back, counting reads. */
class FakeSource implements AccessStateSource {
  config = CONFIG;
  readonly users = new Map<string, UserAccessState>();
  readonly sessions = new Map<string, SessionAccessState>();
  reads = 0;
  /** When set, reads wait for the test to release them. */
  gate: Promise<void> | undefined;

  addUser(id: string, minTokenVersion = 1): void {
    this.users.set(id, { id, role: 'user', minTokenVersion, disabledAt: null });
  }

  addSession(id: string, userId: string): void {
    this.sessions.set(id, { id, userId, revokedAt: null, expiresAt: FAR_FUTURE });
  }

  async securityConfig(): Promise<SecurityConfig> {
    return this.read(() => this.config);
  }

  async user(id: string): Promise<UserAccessState | null> {
    return this.read(() => this.users.get(id) ?? null);
  }

  async session(id: string): Promise<SessionAccessState | null> {
    return this.read(() => this.sessions.get(id) ?? null);
  }

  /** Holds reads until `release()`; the value is taken when the read starts, as a database would. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((resolve) => {
      release = resolve;
    });
    return () => {
      this.gate = undefined;
      release();
    };
  }

  private async read<T>(value: () => T): Promise<T> {
    this.reads += 1;
    const snapshot = value();
    if (this.gate !== undefined) await this.gate;
    return snapshot;
  }
}

function setup(options: Partial<AccessStateCacheOptions> = {}, subscribed = true) {
  const source = new FakeSource();
  const clock = new ManualClock();
  const cache = new AccessStateCache(source, clock, {
    maxEntries: 100,
    ttlSeconds: 60,
    fallbackTtlSeconds: 5,
    ...options,
  });
  cache.setSubscribed(subscribed);
  source.addUser('u1');
  source.addSession('s1', 'u1');
  return { source, clock, cache };
}

describe('AccessStateCache', () => {
  it('answers a warm check without reading the source', async () => {
    const { source, cache } = setup();
    const first = await cache.read('u1', 's1');
    expect(first.user?.minTokenVersion).toBe(1);
    expect(source.reads).toBe(3);
    await cache.read('u1', 's1');
    await cache.read('u1', 's1');
    expect(source.reads).toBe(3);
    expect(cache.stats().hits).toBe(6);
  });

  it('shares one read between concurrent misses of the same key', async () => {
    const { source, cache } = setup();
    await Promise.all([cache.read('u1', 's1'), cache.read('u1', 's1'), cache.read('u1', 's1')]);
    expect(source.reads).toBe(3);
  });

  it('holds at most maxEntries users and sessions, evicting the least recently used', async () => {
    const { source, cache } = setup({ maxEntries: 4 });
    for (const n of [2, 3]) {
      source.addUser(`u${n}`);
      source.addSession(`s${n}`, `u${n}`);
    }
    await cache.read('u1', 's1');
    await cache.read('u2', 's2');
    await cache.read('u1', 's1'); // u1/s1 now most recent
    await cache.read('u3', 's3'); // evicts u2/s2
    expect(cache.stats().size).toBe(5); // 4 + the security config
    const before = source.reads;
    await cache.read('u1', 's1');
    await cache.read('u3', 's3');
    expect(source.reads).toBe(before);
    await cache.read('u2', 's2');
    expect(source.reads).toBe(before + 2);
  });

  it('does not cache what is not found, so a later insert is seen', async () => {
    const { source, cache } = setup();
    expect((await cache.read('u9', 's9')).user).toBeNull();
    source.addUser('u9');
    expect((await cache.read('u9', 's9')).user?.id).toBe('u9');
  });

  it('drops an invalidated user, session or config at once', async () => {
    const { source, cache } = setup();
    await cache.read('u1', 's1');
    source.addUser('u1', 2);
    source.sessions.set('s1', { id: 's1', userId: 'u1', revokedAt: new Date(), expiresAt: FAR_FUTURE });
    source.config = { ...CONFIG, globalMinTokenVersion: 2 };
    expect((await cache.read('u1', 's1')).user?.minTokenVersion).toBe(1);

    cache.invalidateUser('u1');
    cache.invalidateSession('s1');
    cache.invalidateSecurityConfig();
    const state = await cache.read('u1', 's1');
    expect(state.user?.minTokenVersion).toBe(2);
    expect(state.session?.revokedAt).not.toBeNull();
    expect(state.config.globalMinTokenVersion).toBe(2);
  });

  it('drops every session of one user, and only those', async () => {
    const { source, cache } = setup();
    source.addSession('s1b', 'u1');
    source.addUser('u2');
    source.addSession('s2', 'u2');
    await cache.read('u1', 's1');
    await cache.read('u1', 's1b');
    await cache.read('u2', 's2');
    const before = source.reads;
    cache.invalidateUserSessions('u1');
    await cache.read('u2', 's2');
    expect(source.reads).toBe(before);
    await cache.read('u1', 's1');
    await cache.read('u1', 's1b');
    expect(source.reads).toBe(before + 2);
  });

  describe('TTL', () => {
    it('keeps entries up to ttlSeconds while subscribed', async () => {
      const { source, clock, cache } = setup({ ttlSeconds: 60 });
      await cache.read('u1', 's1');
      clock.advance(59);
      await cache.read('u1', 's1');
      expect(source.reads).toBe(3);
      clock.advance(1);
      await cache.read('u1', 's1');
      expect(source.reads).toBe(6);
    });

    it('falls back to the short TTL while the subscription is lost, for entries already held too', async () => {
      const { source, clock, cache } = setup({ ttlSeconds: 60, fallbackTtlSeconds: 5 });
      await cache.read('u1', 's1');
      clock.advance(10);
      await cache.read('u1', 's1');
      expect(source.reads).toBe(3); // 10 s old, fine while subscribed

      cache.setSubscribed(false);
      await cache.read('u1', 's1');
      expect(source.reads).toBe(6); // too old for the fallback TTL
      clock.advance(4.9);
      await cache.read('u1', 's1');
      expect(source.reads).toBe(6);
      clock.advance(0.1);
      await cache.read('u1', 's1');
      expect(source.reads).toBe(9);
    });

    it('drops everything when the subscription comes back (messages may have been missed)', async () => {
      const { source, cache } = setup({}, false);
      await cache.read('u1', 's1');
      cache.setSubscribed(true);
      await cache.read('u1', 's1');
      expect(source.reads).toBe(6);
    });

    it('caches nothing while degraded when the fallback TTL is 0', async () => {
      const { source, cache } = setup({ fallbackTtlSeconds: 0 }, false);
      await cache.read('u1', 's1');
      await cache.read('u1', 's1');
      expect(source.reads).toBe(6);
    });
  });

  describe('a fill racing an invalidation', () => {
    it('returns the overtaken read to its caller but does not store it', async () => {
      const { source, cache } = setup();
      await cache.read('u1', 's1'); // config and session warm
      cache.invalidateUser('u1');
      const release = source.hold();
      const racing = cache.read('u1', 's1'); // reads minTokenVersion 1…
      source.addUser('u1', 2); // …a rotation commits meanwhile…
      cache.invalidateUser('u1'); // …and its invalidation arrives before the read returns
      release();
      expect((await racing).user?.minTokenVersion).toBe(1);
      expect((await cache.read('u1', 's1')).user?.minTokenVersion).toBe(2);
    });

    it('does not let a check that starts after the invalidation join the overtaken read', async () => {
      const { source, cache } = setup();
      const release = source.hold();
      const racing = cache.read('u1', 's1');
      source.addUser('u1', 2);
      cache.invalidateUser('u1');
      const after = cache.read('u1', 's1');
      release();
      await racing;
      expect((await after).user?.minTokenVersion).toBe(2);
    });

    it('guards session reads against a bulk revoke of their user', async () => {
      const { source, cache } = setup();
      const release = source.hold();
      const racing = cache.read('u1', 's1');
      source.sessions.set('s1', { id: 's1', userId: 'u1', revokedAt: new Date(), expiresAt: FAR_FUTURE });
      cache.invalidateUserSessions('u1');
      release();
      expect((await racing).session?.revokedAt).toBeNull();
      expect((await cache.read('u1', 's1')).session?.revokedAt).not.toBeNull();
    });

    it('guards every read against clear()', async () => {
      const { source, cache } = setup();
      const release = source.hold();
      const racing = cache.read('u1', 's1');
      source.config = { ...CONFIG, globalMinTokenVersion: 3 };
      cache.clear();
      release();
      await racing;
      expect((await cache.read('u1', 's1')).config.globalMinTokenVersion).toBe(3);
    });

    it('stores a read no invalidation overtook', async () => {
      const { source, cache } = setup();
      const release = source.hold();
      const reading = cache.read('u1', 's1');
      cache.invalidateUser('someone-else');
      release();
      await reading;
      await cache.read('u1', 's1');
      expect(source.reads).toBe(3);
    });
  });
});
