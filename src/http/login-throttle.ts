import { createHash } from 'node:crypto';
import { normaliseEmail } from '../domain/credentials.js';

export interface LoginThrottleOptions {
  /** Failed logins an account absorbs in one window before sources that failed are refused. */
  readonly maxFailures: number;
  readonly windowSeconds: number;
  /** Accounts remembered at once (oldest forgotten first), so a spray of emails cannot grow memory. */
  readonly maxAccounts?: number;
  readonly now?: () => number;
}

interface Entry {
  windowStart: number;
  failures: number;
  /** Sources (IPs) that failed for this account in the window; bounded. */
  readonly failedFrom: Set<string>;
}

const MAX_SOURCES_PER_ACCOUNT = 1024;

/**
 * The per-account half of login rate limiting (the per-IP half is @fastify/rate-limit).
 *
 * An account that took `maxFailures` failed logins inside a window refuses further
 * attempts (429) **from the sources that failed** until the window ends. A source that
 * has not failed for it — the owner at home while an attacker guesses — still gets its
 * password checked, so an attacker cannot lock the owner out; and the lock ends one
 * window after the last burst began, never later. An attacker with many addresses
 * gets `maxFailures` guesses per window plus one per fresh address, each of them also
 * bound by the per-IP limit.
 *
 * @example
 * const throttle = new LoginThrottle({ maxFailures: 10, windowSeconds: 900 });
 * if (throttle.retryAfter(email, ip) === null) { … check the password …; if wrong, throttle.recordFailure(email, ip); }
 */
export class LoginThrottle {
  readonly #entries = new Map<string, Entry>();
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #maxAccounts: number;
  readonly #now: () => number;

  constructor(options: LoginThrottleOptions) {
    this.#maxFailures = options.maxFailures;
    this.#windowMs = options.windowSeconds * 1000;
    this.#maxAccounts = options.maxAccounts ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Seconds until `ip` may try `email` again, or null when it may now. */
  retryAfter(email: string, ip: string): number | null {
    const entry = this.#current(keyOf(email));
    if (entry === undefined || entry.failures < this.#maxFailures || !entry.failedFrom.has(ip)) return null;
    return Math.max(1, Math.ceil((entry.windowStart + this.#windowMs - this.#now()) / 1000));
  }

  recordFailure(email: string, ip: string): void {
    const key = keyOf(email);
    let entry = this.#current(key);
    if (entry === undefined) {
      entry = { windowStart: this.#now(), failures: 0, failedFrom: new Set() };
      this.#entries.set(key, entry);
      if (this.#entries.size > this.#maxAccounts) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
    }
    entry.failures += 1;
    if (entry.failedFrom.size < MAX_SOURCES_PER_ACCOUNT) entry.failedFrom.add(ip);
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

// Hashed: the map's memory does not depend on how long the submitted emails are.
const keyOf = (email: string) => createHash('sha256').update(normaliseEmail(email)).digest('base64url');
