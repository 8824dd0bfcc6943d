import type {
  AccessState,
  AccessStateReader,
  SessionAccessState,
  UserAccessState,
} from '../../application/ports/access-state-reader.js';
import type { Clock } from '../../application/ports/clock.js';
import type { SecurityConfig } from '../../domain/versions.js';
import type { AccessStateSource } from './access-state-source.js';
import { LruMap } from './lru-map.js';

export interface AccessStateCacheOptions {
  /** Users and sessions held at most (the security config is one more). */
  readonly maxEntries: number;
  /** How long an entry lives while invalidation messages arrive (a bound, not the mechanism). */
  readonly ttlSeconds: number;
  /** How long an entry lives while the subscription is lost: the only protection then. */
  readonly fallbackTtlSeconds: number;
}

interface Entry<V> {
  readonly value: V;
  /** When the read that produced it started: the entry is never younger than its data. */
  readonly loadedAt: number;
}

interface Fill<V> {
  promise: Promise<V | null>;
  /** Set when an invalidation for this key arrives while the read is in flight. */
  stale: boolean;
  readonly epoch: number;
  /** For session fills: the user the token claims, so "all sessions of a user" reaches them. */
  readonly userId: string | undefined;
}

const CONFIG_KEY = 'config';
const userKey = (id: string) => `u:${id}`;
const sessionKey = (id: string) => `s:${id}`;

type Cached = Entry<UserAccessState> | Entry<SessionAccessState>;

/**
 * The versions and user/session state the bearer check needs, held in memory so a
 * warm check does no I/O. A miss reads the source; concurrent misses of one key
 * share the read.
 *
 * A read that an invalidation overtakes is returned to its caller but not stored:
 * storing it would put back the row the invalidation just dropped. Each in-flight
 * read is marked stale by an invalidation of its key, and `clear()` bumps an epoch
 * that every older read sees.
 *
 * @example
 * const cache = new AccessStateCache(source, clock, { maxEntries: 10_000, ttlSeconds: 60, fallbackTtlSeconds: 5 });
 * const { config, user, session } = await cache.read(claims.sub, claims.sid);
 * cache.invalidateUser(userId); // after a committed user rotation
 */
export class AccessStateCache implements AccessStateReader {
  private readonly entries: LruMap<string, Cached>;
  private config: Entry<SecurityConfig> | undefined;
  private readonly inflight = new Map<string, Fill<unknown>>();
  private epoch = 0;
  private subscribed = false;
  private hitCount = 0;
  private missCount = 0;

  constructor(
    private readonly source: AccessStateSource,
    private readonly clock: Clock,
    private readonly options: AccessStateCacheOptions,
  ) {
    this.entries = new LruMap(options.maxEntries);
  }

  async read(
    userId: string,
    sessionId: string,
    options: { readonly fresh?: boolean } = {},
  ): Promise<AccessState> {
    if (options.fresh === true) {
      // Dropped, then read again and stored: the re-read is what later requests see too.
      this.invalidateUser(userId);
      this.invalidateSecurityConfig();
    }
    const [config, user, session] = await Promise.all([
      this.securityConfig(),
      this.user(userId),
      this.session(sessionId, userId),
    ]);
    return { config, user, session };
  }

  /**
   * Whether invalidation messages are arriving. Entries live `ttlSeconds` while they
   * are, `fallbackTtlSeconds` while not. Either change drops everything: losing the
   * subscription means a message may already have been missed (a connection that died
   * silently is only declared dead a few seconds later), and what was cached while it
   * was lost may have missed one too.
   */
  setSubscribed(subscribed: boolean): void {
    if (subscribed !== this.subscribed) this.clear();
    this.subscribed = subscribed;
  }

  invalidateSecurityConfig(): void {
    this.config = undefined;
    this.markStale(CONFIG_KEY);
  }

  invalidateUser(userId: string): void {
    this.entries.delete(userKey(userId));
    this.markStale(userKey(userId));
  }

  invalidateSession(sessionId: string): void {
    this.entries.delete(sessionKey(sessionId));
    this.markStale(sessionKey(sessionId));
  }

  /** Every session of one user: a bulk revoke. O(entries), and rare. */
  invalidateUserSessions(userId: string): void {
    this.entries.deleteWhere((entry, key) => key.startsWith('s:') && sessionOf(entry).userId === userId);
    for (const [key, fill] of this.inflight) {
      if (key.startsWith('s:') && fill.userId === userId) this.markStale(key);
    }
  }

  clear(): void {
    this.config = undefined;
    this.entries.clear();
    this.epoch += 1;
    for (const fill of this.inflight.values()) fill.stale = true;
    this.inflight.clear();
  }

  /** Counters for tests and metrics. */
  stats(): { readonly hits: number; readonly misses: number; readonly size: number } {
    return { hits: this.hitCount, misses: this.missCount, size: this.entries.size + (this.config ? 1 : 0) };
  }

  private async securityConfig(): Promise<SecurityConfig> {
    const cached = this.hit(this.config);
    if (cached !== undefined) return cached;
    const config = await this.fill(
      CONFIG_KEY,
      () => this.source.securityConfig(),
      (entry) => {
        this.config = entry;
      },
    );
    if (config === null) throw new Error('security_config row is missing');
    return config;
  }

  private user(userId: string): Promise<UserAccessState | null> {
    const key = userKey(userId);
    const cached = this.hit(this.entries.get(key) as Entry<UserAccessState> | undefined);
    if (cached !== undefined) return Promise.resolve(cached);
    return this.fill(
      key,
      () => this.source.user(userId),
      (entry) => this.entries.set(key, entry),
    );
  }

  private session(sessionId: string, claimedUserId: string): Promise<SessionAccessState | null> {
    const key = sessionKey(sessionId);
    const cached = this.hit(this.entries.get(key) as Entry<SessionAccessState> | undefined);
    if (cached !== undefined) return Promise.resolve(cached);
    return this.fill(
      key,
      () => this.source.session(sessionId),
      // Indexed under the claimed user only when that is its user, so a bulk revoke finds it.
      (entry) => {
        if (entry.value.userId === claimedUserId) this.entries.set(key, entry);
      },
      claimedUserId,
    );
  }

  /** A fresh entry's value, counted as a hit; undefined when it must be read (again). */
  private hit<V>(entry: Entry<V> | undefined): V | undefined {
    if (entry === undefined || !this.fresh(entry)) return undefined;
    this.hitCount += 1;
    return entry.value;
  }

  private fill<V>(
    key: string,
    load: () => Promise<V | null>,
    store: (entry: Entry<V>) => void,
    userId?: string,
  ): Promise<V | null> {
    this.missCount += 1;
    const running = this.inflight.get(key) as Fill<V> | undefined;
    if (running !== undefined) return running.promise;
    const loadedAt = this.clock.now().getTime();
    const fill: Fill<V> = { promise: Promise.resolve(null), stale: false, epoch: this.epoch, userId };
    const done = () => {
      if (this.inflight.get(key) === fill) this.inflight.delete(key);
    };
    fill.promise = load().then(
      (value) => {
        done();
        // Not found is not cached: ids come from signed tokens, and a miss must see a later insert.
        if (value !== null && !fill.stale && fill.epoch === this.epoch) store({ value, loadedAt });
        return value;
      },
      (error: unknown) => {
        done();
        throw error;
      },
    );
    this.inflight.set(key, fill as Fill<unknown>);
    return fill.promise;
  }

  private markStale(key: string): void {
    const fill = this.inflight.get(key);
    if (fill !== undefined) {
      fill.stale = true;
      // Later callers start a fresh read rather than join the overtaken one.
      this.inflight.delete(key);
    }
  }

  private fresh(entry: Entry<unknown>): boolean {
    const ttlSeconds = this.subscribed ? this.options.ttlSeconds : this.options.fallbackTtlSeconds;
    const age = this.clock.now().getTime() - entry.loadedAt;
    return age >= 0 && age < ttlSeconds * 1000;
  }
}

function sessionOf(entry: Cached): SessionAccessState {
  return entry.value as SessionAccessState;
}
