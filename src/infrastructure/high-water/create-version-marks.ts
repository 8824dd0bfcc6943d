import { resolve } from 'node:path';
import { FileHighWaterStore } from './file-high-water-store.js';
import { RedisHighWaterStore } from './redis-high-water-store.js';
import { type HighWaterStore, VersionMarks } from './version-marks.js';

/**
 * The high-water mark over the store the deployment allows (docs/DESIGN.md §7): Redis
 * when `REDIS_URL` is set (shared by every instance), else a file beside a PGlite data
 * directory this process opened itself, else memory alone.
 *
 * @example
 * const marks = createVersionMarks({ redisUrl: null, pgliteDataDir: './.tokenwarden', namespace: 'tokenwarden', maxUsers: 10_000, onStoreError: () => {} });
 */
export function createVersionMarks(options: {
  readonly redisUrl: string | null;
  /** Null on PostgreSQL, in memory, or when the database was handed in (tests). */
  readonly pgliteDataDir: string | null;
  /** Keeps the Redis key of one deployment apart from another's (the invalidation channel). */
  readonly namespace: string;
  readonly maxUsers: number;
  readonly onStoreError: (error: unknown) => void;
}): VersionMarks {
  let store: HighWaterStore | null = null;
  if (options.redisUrl !== null) {
    store = new RedisHighWaterStore(options.redisUrl, `${options.namespace}:high-water:global`);
  } else if (options.pgliteDataDir !== null && !options.pgliteDataDir.startsWith('memory://')) {
    store = new FileHighWaterStore(`${resolve(options.pgliteDataDir)}.high-water`);
  }
  return new VersionMarks({ maxUsers: options.maxUsers, store, onStoreError: options.onStoreError });
}
