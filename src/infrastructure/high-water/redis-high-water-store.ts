import { Redis } from 'ioredis';
import type { HighWaterStore } from './version-marks.js';

/** SET the key to ARGV[1] unless it already holds as much: an atomic max. */
const MAX_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local proposed = tonumber(ARGV[1])
if proposed > current then
  redis.call('SET', KEYS[1], ARGV[1])
  return proposed
end
return current`;

/**
 * The global high-water mark shared by every instance through Redis, so one that
 * restarted after a restore still knows what was in force. Optional and never waited on
 * for long: no offline queue, so a Redis that is down fails a command at once, and one that
 * does not answer fails it after a second.
 *
 * @example
 * const store = new RedisHighWaterStore('redis://127.0.0.1:6379', 'tokenwarden:high-water:global');
 * await store.save(7);
 */
export class RedisHighWaterStore implements HighWaterStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly key: string,
  ) {
    this.redis = new Redis(url, {
      connectTimeout: 2_000,
      // A Redis that holds a command (frozen, not down) must not hold a shutdown either.
      commandTimeout: 1_000,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: (times: number) => Math.min(250 * 2 ** Math.min(times, 5), 5_000),
    });
    this.redis.on('error', () => {});
  }

  async load(): Promise<number | null> {
    const value = await this.redis.get(this.key);
    return value === null ? null : Number(value);
  }

  async save(version: number): Promise<void> {
    await this.redis.eval(MAX_SCRIPT, 1, this.key, String(version));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
