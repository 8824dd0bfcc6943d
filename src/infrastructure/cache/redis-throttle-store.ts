import type { Redis } from 'ioredis';
import type { ThrottleStore, ThrottleWindow } from '../../application/ports/login-throttle-store.js';
import { MAX_SOURCES_PER_ACCOUNT, overflowBucketOf } from '../../domain/login-throttle-sources.js';

// KEYS: count, sources, overflow bitmap. ARGV: window ms, source, max sources, its bucket.
// The set and the bitmap expire with the count, so a window is fixed from its first failure
// exactly as in memory.
const RECORD_LUA = `
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0 then
  if redis.call('SCARD', KEYS[2]) < tonumber(ARGV[3]) then
    redis.call('SADD', KEYS[2], ARGV[2])
  else
    redis.call('SETBIT', KEYS[3], tonumber(ARGV[4]), 1)
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
end
redis.call('PEXPIRE', KEYS[2], ttl)
return failures`;

// KEYS: count, sources, overflow bitmap. ARGV: source, its bucket.
const READ_LUA = `
local failures = redis.call('GET', KEYS[1])
if not failures then return false end
local failed = redis.call('SISMEMBER', KEYS[2], ARGV[1])
if failed == 0 then failed = redis.call('GETBIT', KEYS[3], tonumber(ARGV[2])) end
return {tonumber(failures), redis.call('PTTL', KEYS[1]), failed}`;

/**
 * Redis, shared by every instance on it: one counter and one source set per account, under `prefix`.
 *
 * @example
 * const shared = new RedisThrottleStore(redis, { prefix: 'tw:limits:', windowSeconds: 900 });
 * await shared.recordFailure(accountKey, '192.0.2.7');
 */
export class RedisThrottleStore implements ThrottleStore {
  readonly #redis: Pick<Redis, 'eval'>;
  readonly #prefix: string;
  readonly #windowMs: number;

  constructor(redis: Pick<Redis, 'eval'>, options: { prefix: string; windowSeconds: number }) {
    this.#redis = redis;
    this.#prefix = options.prefix;
    this.#windowMs = options.windowSeconds * 1000;
  }

  async read(account: string, source: string): Promise<ThrottleWindow | null> {
    const reply = (await this.#redis.eval(
      READ_LUA,
      3,
      ...this.#keys(account),
      source,
      String(overflowBucketOf(source)),
    )) as [number, number, number] | null;
    if (reply === null) return null;
    const [failures, msLeft, member] = reply;
    return { failures, msLeft: msLeft < 0 ? this.#windowMs : msLeft, sourceFailed: member === 1 };
  }

  async recordFailure(account: string, source: string): Promise<void> {
    await this.#redis.eval(
      RECORD_LUA,
      3,
      ...this.#keys(account),
      String(this.#windowMs),
      source,
      String(MAX_SOURCES_PER_ACCOUNT),
      String(overflowBucketOf(source)),
    );
  }

  #keys(account: string): [string, string, string] {
    const base = `${this.#prefix}account:${account}`;
    return [`${base}:failures`, `${base}:sources`, `${base}:overflow`];
  }
}
