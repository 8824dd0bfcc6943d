import type { Kysely } from 'kysely';
import type { Clock } from '../../application/ports/clock.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';
import { AccessStateCache, type AccessStateCacheOptions } from './access-state-cache.js';
import { UnitOfWorkAccessStateSource } from './access-state-source.js';
import { CacheInvalidator, type ReloadableKeys } from './cache-invalidator.js';
import { FanOutInvalidationTransport } from './fan-out-invalidation-transport.js';
import {
  type InvalidationLog,
  type InvalidationTransport,
  LocalInvalidationTransport,
} from './invalidation-transport.js';
import { PostgresInvalidationTransport } from './postgres-invalidation-transport.js';
import { RedisInvalidationTransport } from './redis-invalidation-transport.js';
import type { SubscriptionHeartbeatOptions } from './subscription-heartbeat.js';

export interface AccessStateCacheSetupOptions {
  readonly uow: UnitOfWork;
  readonly clock: Clock;
  readonly keys: ReloadableKeys;
  // biome-ignore lint/suspicious/noExplicitAny: only used to publish NOTIFY
  readonly db: Kysely<any>;
  /** Set when the database is a PostgreSQL server (not PGlite). */
  readonly databaseUrl: string | null;
  readonly redisUrl: string | null;
  readonly channel: string;
  readonly cache: AccessStateCacheOptions;
  readonly log: InvalidationLog;
  /** How each subscription proves it is alive (default: a heartbeat a second, dead after 3 s). */
  readonly heartbeat?: SubscriptionHeartbeatOptions;
}

/**
 * The cache and its invalidation, over the transports the configuration allows. On
 * PostgreSQL, LISTEN/NOTIFY always — the database is what every server and CLI share,
 * whatever else their environment sets — plus Redis pub/sub when `REDIS_URL` is set
 * (published on and listened to as well). On PGlite (one process): Redis when set, else local.
 * Started: the subscribers connect in the background.
 */
export function createAccessStateCache(options: AccessStateCacheSetupOptions): {
  readonly cache: AccessStateCache;
  readonly invalidator: CacheInvalidator;
} {
  const redis =
    options.redisUrl === null
      ? null
      : new RedisInvalidationTransport(options.redisUrl, options.channel, options.log, options.heartbeat);
  const transport: InvalidationTransport =
    options.databaseUrl !== null
      ? new FanOutInvalidationTransport(
          [
            new PostgresInvalidationTransport(
              options.databaseUrl,
              options.channel,
              options.db,
              options.log,
              options.heartbeat,
            ),
            ...(redis === null ? [] : [redis]),
          ],
          options.log,
        )
      : (redis ?? new LocalInvalidationTransport());
  const cache = new AccessStateCache(
    new UnitOfWorkAccessStateSource(options.uow),
    options.clock,
    options.cache,
  );
  const invalidator = new CacheInvalidator(cache, transport, options.keys, options.log);
  invalidator.start();
  return { cache, invalidator };
}
