import type { Redis } from 'ioredis';

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/** What @fastify/rate-limit asks of a store (its `store` option takes the class). */
interface RateLimitStore {
  incr(key: string, callback: IncrCallback, timeWindow?: number): void;
  child(routeOptions: unknown): RateLimitStore;
}

const INCR_LUA = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {current, ttl}`;

const MAX_LOCAL_KEYS = 100_000;

/**
 * A fixed-window counter in Redis, shared by every instance, that falls back to this
 * process's memory while Redis fails: per-address limits then hold per instance for the
 * outage instead of failing requests (the plugin's `skipOnError` would drop them, its
 * default would answer 500). Keys carry the bucket name from the limiter's key
 * generator, so one store serves every limiter.
 *
 * @example
 * await app.register(rateLimit, { store: redisRateLimitStore(redis, 'tw:rl:', log) });
 */
export function redisRateLimitStore(
  redis: Pick<Redis, 'eval'>,
  prefix: string,
  onError: (error: unknown) => void,
): new () => RateLimitStore {
  const local = new Map<string, { count: number; resetAt: number }>();
  const countLocally = (key: string, timeWindow: number) => {
    const now = Date.now();
    let entry = local.get(key);
    if (entry === undefined || entry.resetAt <= now) {
      local.delete(key);
      entry = { count: 0, resetAt: now + timeWindow };
      local.set(key, entry);
      if (local.size > MAX_LOCAL_KEYS) {
        const oldest = local.keys().next().value;
        if (oldest !== undefined) local.delete(oldest);
      }
    }
    entry.count += 1;
    return { current: entry.count, ttl: entry.resetAt - now };
  };
  return class RedisRateLimitStore implements RateLimitStore {
    // The plugin passes the limiter's window (ms) as a third argument its types omit.
    incr(key: string, callback: IncrCallback, timeWindow = 60_000): void {
      redis.eval(INCR_LUA, 1, `${prefix}${key}`, String(timeWindow)).then(
        (reply) => {
          const [current, ttl] = reply as [number, number];
          callback(null, { current, ttl });
        },
        (error: unknown) => {
          onError(error);
          callback(null, countLocally(key, timeWindow));
        },
      );
    }

    child(): RateLimitStore {
      return this;
    }
  };
}
