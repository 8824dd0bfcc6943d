import { createHash } from 'node:crypto';
import type { ThrottleStore, ThrottleWindow } from '../application/ports/login-throttle-store.js';
import { normaliseEmail } from '../domain/credentials.js';
import {
  MAX_SOURCES_PER_ACCOUNT,
  OVERFLOW_BUCKETS,
  overflowBucketOf,
} from '../domain/login-throttle-sources.js';
import { rateLimitAddress } from './rate-limit-address.js';

export interface LoginThrottleOptions {
  /** Failed logins an account absorbs in one window before sources that failed are refused. */
  readonly maxFailures: number;
  readonly windowSeconds: number;
  /** IPv6 sources are counted by their network of this many bits (default 64); IPv4 as is. */
  readonly ipv6Prefix?: number;
  /** Accounts remembered at once in memory (oldest forgotten first), so a spray of emails cannot grow memory. */
  readonly maxAccounts?: number;
  readonly now?: () => number;
  /** A store shared by every instance (Redis); the memory store stays as the fallback. */
  readonly shared?: ThrottleStore;
  /** Called when the shared store fails; the check then uses this instance's memory. */
  readonly onSharedError?: (error: unknown) => void;
}

/**
 * The per-account half of login rate limiting (the per-IP half is @fastify/rate-limit).
 *
 * An account that took `maxFailures` failed password checks (logins, and the current
 * password on a password change) inside a window refuses further attempts (429) **from
 * the sources that failed** until the window ends. A source that has not failed for it —
 * the owner at home while an attacker guesses — still gets its password checked, so an
 * attacker cannot lock the owner out; and the lock ends one window after the last burst
 * began, never later. An attacker with many addresses gets `maxFailures` guesses per
 * window plus one per fresh address, each of them also bound by the per-IP limit. An IPv6
 * source is its /64 (see {@link rateLimitAddress}); past the sources an account remembers
 * exactly, failing ones are still recorded, in a bitmap (see {@link OVERFLOW_BUCKETS}).
 *
 * With a shared store every instance counts into it. When it fails (Redis down) the
 * check degrades to this instance's memory, which records every failure too: the lock
 * becomes per instance for the outage, a login never fails because of it.
 *
 * @example
 * const throttle = new LoginThrottle({ maxFailures: 10, windowSeconds: 900 });
 * if ((await throttle.retryAfter(email, ip)) === null) { … check the password …; if wrong, await throttle.recordFailure(email, ip); }
 */
export class LoginThrottle {
  readonly #memory: MemoryThrottleStore;
  readonly #shared: ThrottleStore | undefined;
  readonly #onSharedError: (error: unknown) => void;
  readonly #maxFailures: number;
  readonly #ipv6Prefix: number;

  constructor(options: LoginThrottleOptions) {
    this.#maxFailures = options.maxFailures;
    this.#ipv6Prefix = options.ipv6Prefix ?? 64;
    this.#memory = new MemoryThrottleStore({
      windowSeconds: options.windowSeconds,
      maxAccounts: options.maxAccounts,
      now: options.now,
    });
    this.#shared = options.shared;
    this.#onSharedError = options.onSharedError ?? (() => {});
  }

  /** Seconds until `ip` may try `email` again, or null when it may now. */
  async retryAfter(email: string, ip: string): Promise<number | null> {
    const [account, source] = [keyOfEmail(email), this.#sourceOf(ip)];
    const window =
      (await this.#fromShared((s) => s.read(account, source))) ?? (await this.#memory.read(account, source));
    if (window === null || window.failures < this.#maxFailures || !window.sourceFailed) return null;
    return Math.max(1, Math.ceil(window.msLeft / 1000));
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    const [account, source] = [keyOfEmail(email), this.#sourceOf(ip)];
    await this.#memory.recordFailure(account, source);
    await this.#fromShared((s) => s.recordFailure(account, source));
  }

  #sourceOf(ip: string): string {
    return hashOf(rateLimitAddress(ip, this.#ipv6Prefix));
  }

  /** The shared store's answer; undefined when there is none or it failed (then memory answers). */
  async #fromShared<T>(call: (store: ThrottleStore) => Promise<T>): Promise<T | undefined> {
    if (this.#shared === undefined) return undefined;
    try {
      return await call(this.#shared);
    } catch (error) {
      this.#onSharedError(error);
      return undefined;
    }
  }
}

interface Entry {
  windowStart: number;
  failures: number;
  /** Sources (hashed IPs) that failed for this account in the window; bounded. */
  readonly failedFrom: Set<string>;
  /** Failing sources past {@link MAX_SOURCES_PER_ACCOUNT}, by bucket; null until the set is full. */
  overflow: Uint8Array | null;
}

/** This process's memory: bounded in accounts and in sources per account. */
export class MemoryThrottleStore implements ThrottleStore {
  readonly #entries = new Map<string, Entry>();
  readonly #windowMs: number;
  readonly #maxAccounts: number;
  readonly #now: () => number;

  constructor(options: { windowSeconds: number; maxAccounts?: number; now?: () => number }) {
    this.#windowMs = options.windowSeconds * 1000;
    this.#maxAccounts = options.maxAccounts ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  async read(account: string, source: string): Promise<ThrottleWindow | null> {
    const entry = this.#current(account);
    if (entry === undefined) return null;
    return {
      failures: entry.failures,
      msLeft: entry.windowStart + this.#windowMs - this.#now(),
      sourceFailed: entry.failedFrom.has(source) || hasBit(entry.overflow, overflowBucketOf(source)),
    };
  }

  async recordFailure(account: string, source: string): Promise<void> {
    let entry = this.#current(account);
    if (entry === undefined) {
      entry = { windowStart: this.#now(), failures: 0, failedFrom: new Set(), overflow: null };
      this.#entries.set(account, entry);
      if (this.#entries.size > this.#maxAccounts) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
    }
    entry.failures += 1;
    if (entry.failedFrom.has(source)) return;
    if (entry.failedFrom.size < MAX_SOURCES_PER_ACCOUNT) {
      entry.failedFrom.add(source);
      return;
    }
    entry.overflow ??= new Uint8Array(OVERFLOW_BUCKETS / 8);
    const bucket = overflowBucketOf(source);
    entry.overflow[bucket >> 3] = (entry.overflow[bucket >> 3] as number) | (1 << (bucket & 7));
  }

  #current(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && this.#now() - entry.windowStart >= this.#windowMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

const hasBit = (bits: Uint8Array | null, bucket: number) =>
  bits !== null && ((bits[bucket >> 3] as number) & (1 << (bucket & 7))) !== 0;

const hashOf = (value: string) => createHash('sha256').update(value).digest('base64url');
// Hashed: memory and keys do not depend on how long the submitted emails are.
const keyOfEmail = (email: string) => hashOf(normaliseEmail(email));
