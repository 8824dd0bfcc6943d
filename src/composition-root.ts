import type { FastifyServerOptions } from 'fastify';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { type DestinationStream, pino } from 'pino';
import { EnsureAdmin } from './application/commands/ensure-admin/command.js';
import { EnsureAdminHandler } from './application/commands/ensure-admin/handler.js';
import { RunScheduledRotation } from './application/commands/run-scheduled-rotation/command.js';
import { RunScheduledRotationHandler } from './application/commands/run-scheduled-rotation/handler.js';
import type { AppContext } from './application/context.js';
import type { Clock } from './application/ports/clock.js';
import type { PasswordHasher } from './application/ports/password-hasher.js';
import { createServices, type Services } from './application/services.js';
import type { Config } from './config.js';
import type { App } from './http/app.js';
import type { CacheInvalidator } from './infrastructure/cache/cache-invalidator.js';
import { createAccessStateCache } from './infrastructure/cache/create-access-state-cache.js';
import type { InvalidationStatus } from './infrastructure/cache/invalidation-transport.js';
import { systemClock } from './infrastructure/clock/system-clock.js';
import { Argon2PasswordHasher } from './infrastructure/crypto/argon2-password-hasher.js';
import { HkdfSuccessorSealer } from './infrastructure/crypto/hkdf-successor-sealer.js';
import { JoseAccessTokenSigner } from './infrastructure/crypto/jose-access-token-signer.js';
import { createPrivateJwkSealer } from './infrastructure/crypto/private-jwk-sealer.js';
import { RandomTokenGenerator } from './infrastructure/crypto/random-token-generator.js';
import { SigningKeyStore } from './infrastructure/crypto/signing-key-store.js';
import { createDatabase } from './infrastructure/database/create-database.js';
import { MIGRATIONS, migrateToLatest } from './infrastructure/database/migrator.js';
import { DataDirInUseError } from './infrastructure/database/pglite-lock.js';
import { logSerializers } from './infrastructure/database/redact-database-error.js';
import { KyselyUnitOfWork } from './infrastructure/database/repositories/kysely-unit-of-work.js';
import type { Database } from './infrastructure/database/schema.js';
import { SealedSuccessorSweep } from './infrastructure/database/sealed-successor-sweep.js';
import { PrometheusMetrics } from './infrastructure/metrics/prometheus-metrics.js';
import { Pruner } from './infrastructure/retention/pruner.js';
import { RotationScheduleTimer } from './infrastructure/scheduling/rotation-schedule-timer.js';
import { createWebhooks, type Webhooks } from './infrastructure/webhooks/create-webhooks.js';
import { StartupError } from './startup-error.js';

// The CLI's `webhooks secret` prints a receiver's secret without building anything else.
export { deriveWebhookSecret } from './infrastructure/webhooks/webhook-signature.js';

/** An open database handle: the composition root's own, or one a test made. */
export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  close(): Promise<void>;
}

export interface TokenwardenOverrides {
  readonly clock?: Clock;
  /** Use this database instead of opening the configured one (tests); it is not closed by `close()`. */
  readonly database?: DatabaseHandle;
  readonly hasher?: PasswordHasher;
  readonly logger?: FastifyServerOptions['logger'];
  readonly defaultMetrics?: boolean;
  /** Where the core's own logs (cache invalidation, webhooks) go; default stdout. The CLI sends them to stderr. */
  readonly logStream?: DestinationStream;
}

export interface Tokenwarden {
  readonly app: App;
  readonly services: Services;
  readonly context: AppContext;
  readonly db: Kysely<Database>;
  readonly keyStore: SigningKeyStore;
  readonly webhooks: Webhooks;
  /** Clears sealed successors past the reuse interval (started with the server). */
  readonly successorSweep: SealedSuccessorSweep;
  /** Deletes rows past retention (its loop started with the server). */
  readonly pruner: Pruner;
  /** The cache-invalidation transport and whether it is subscribed. */
  invalidation(): InvalidationStatus;
  close(): Promise<void>;
}

/** Log settings that keep secrets out of the log stream. */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      censor: '[redacted]',
    },
    // A failed statement's error must not carry its parameters (a password hash) into the log.
    serializers: logSerializers,
  };
}

/** Everything but HTTP: what the server and the CLI share. */
export interface Core {
  readonly db: Kysely<Database>;
  readonly context: AppContext;
  readonly services: Services;
  readonly keyStore: SigningKeyStore;
  readonly metrics: PrometheusMetrics;
  /** Outbox relay to webhook URLs (started by the server only) and the rejection rollup. */
  readonly webhooks: Webhooks;
  /** Clears sealed successors past the reuse interval: started by the server only. */
  readonly successorSweep: SealedSuccessorSweep;
  /** Deletes rows past retention: its loop is started by the server only; `tokenwarden prune` runs one pass. */
  readonly pruner: Pruner;
  /** Asks the rotation schedule whether a notice or a rotation is owed: started by the server only. */
  readonly rotationSchedule: RotationScheduleTimer;
  /** Whether the database answers. */
  ready(): Promise<boolean>;
  /** The cache-invalidation transport and whether it is subscribed (else entries use the fallback TTL). */
  invalidation(): InvalidationStatus;
  /** Subscribes to every committed change this instance hears of (the revocation feed's wake-up). */
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}

/**
 * The only place that knows every concrete class: opens the database, migrates it,
 * loads the signing key and builds the handlers over them.
 */
export async function createCore(config: Config, overrides: TokenwardenOverrides = {}): Promise<Core> {
  const clock = overrides.clock ?? systemClock;
  const ownsDatabase = overrides.database === undefined;
  const database = overrides.database ?? (await openDatabase(config));
  let invalidator: CacheInvalidator | undefined;
  try {
    await migrateToLatest(database.db);
    const signingKeys = {
      sealer: createPrivateJwkSealer(config.masterKey, config.previousMasterKey),
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    };
    const keyStore = new SigningKeyStore(database.db, clock, {
      ...signingKeys,
      overrideKey: config.signingKey ?? undefined,
    });
    await keyStore.ensureActiveKey();
    const tokens = new RandomTokenGenerator();
    const metrics = new PrometheusMetrics({ defaultMetrics: overrides.defaultMetrics });
    const uow = new KyselyUnitOfWork(database.db, { signingKeys });
    const accessCache = createAccessStateCache({
      uow,
      clock,
      keys: keyStore,
      db: database.db,
      databaseUrl: config.database.kind === 'postgres' ? config.database.url : null,
      redisUrl: config.redisUrl,
      channel: config.accessCache.channel,
      cache: config.accessCache,
      log: pino(
        { level: config.logLevel, name: 'invalidation', serializers: logSerializers },
        overrides.logStream,
      ),
    });
    invalidator = accessCache.invalidator;
    const webhooks = createWebhooks({
      db: database.db,
      uow,
      clock,
      tokens,
      config,
      logger: pino(
        { level: config.logLevel, name: 'webhooks', serializers: logSerializers },
        overrides.logStream,
      ),
    });
    const context: AppContext = {
      uow,
      clock,
      tokens,
      hasher: overrides.hasher ?? new Argon2PasswordHasher(config.argon2),
      sealer: new HkdfSuccessorSealer(),
      signer: new JoseAccessTokenSigner({
        keyStore,
        issuer: config.issuer,
        audience: config.audience,
        clientId: config.clientId,
        clientAudience: config.publicUrl,
        ttlSeconds: config.accessTokenTtlSeconds,
        ids: tokens,
      }),
      metrics,
      versionListener: accessCache.invalidator,
      keys: keyStore,
      accessState: accessCache.cache,
      rejections: webhooks.rejections,
      policy: {
        refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
        sessionMaxAgeSeconds: config.sessionMaxAgeSeconds,
        reuseIntervalSeconds: config.reuseIntervalSeconds,
        accessTokenTtlSeconds: config.accessTokenTtlSeconds,
        maxSessionsPerUser: config.maxSessionsPerUser,
      },
    };
    metrics.watchAccessCache({
      stats: () => accessCache.cache.stats(),
      invalidation: () => accessCache.invalidator.status(),
    });
    metrics.watchWebhooks(webhooks.deliveries);
    webhooks.start();
    const successorSweep = new SealedSuccessorSweep(
      { uow, clock, logger: pino({ level: config.logLevel, name: 'successor-sweep' }, overrides.logStream) },
      {
        reuseIntervalSeconds: config.reuseIntervalSeconds,
        intervalSeconds: config.successorSweepIntervalSeconds,
      },
    );
    const pruner = new Pruner(
      {
        db: database.db,
        clock,
        metrics,
        logger: pino(
          { level: config.logLevel, name: 'pruner', serializers: logSerializers },
          overrides.logStream,
        ),
      },
      {
        ...config.retention,
        reuseIntervalSeconds: config.reuseIntervalSeconds,
        accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      },
    );
    const scheduledRotation = new RunScheduledRotationHandler(context);
    const rotationSchedule = new RotationScheduleTimer(
      {
        run: () => scheduledRotation.handle(RunScheduledRotation()),
        logger: pino({ level: config.logLevel, name: 'rotation-schedule' }, overrides.logStream),
      },
      { checkSeconds: config.rotationScheduleCheckSeconds },
    );
    return {
      db: database.db,
      context,
      services: createServices(context),
      keyStore,
      metrics,
      webhooks,
      successorSweep,
      pruner,
      rotationSchedule,
      async ready() {
        await sql`select 1`.execute(database.db);
        return true;
      },
      invalidation: () => accessCache.invalidator.status(),
      onChange: (listener) => accessCache.invalidator.onChange(listener),
      async close() {
        // The relay stops and the rejection rollup writes its last window while the database is open.
        await webhooks.close();
        await successorSweep.close();
        await pruner.close();
        await rotationSchedule.close();
        // Publishes still in flight go out through the database (NOTIFY): close it last.
        await accessCache.invalidator.close();
        if (ownsDatabase) await database.close();
      },
    };
  } catch (error) {
    await invalidator?.close();
    if (ownsDatabase) await database.close();
    throw error;
  }
}

/**
 * `tokenwarden migrate`: brings the configured database's schema up to date without
 * building anything else, over one connection.
 *
 * @example
 * const { applied, latest } = await migrateDatabase(loadConfig());
 * @returns the migrations applied now (empty when up to date) and the latest one there is
 */
export async function migrateDatabase(
  config: Config,
): Promise<{ readonly applied: readonly string[]; readonly latest: string | null }> {
  const database = await openDatabase(config, 1);
  try {
    const applied = await migrateToLatest(database.db);
    return { applied, latest: Object.keys(MIGRATIONS).at(-1) ?? null };
  } finally {
    await database.close();
  }
}

/** The configured database; a PGlite directory another process holds is a {@link StartupError}. */
async function openDatabase(
  config: Config,
  poolSize = config.database.kind === 'postgres' ? config.database.poolSize : 1,
): Promise<DatabaseHandle> {
  try {
    return config.database.kind === 'pglite'
      ? await createDatabase({ kind: 'pglite', dataDir: config.database.dataDir })
      : await createDatabase({ kind: 'postgres', url: config.database.url, poolSize });
  } catch (error) {
    if (error instanceof DataDirInUseError) {
      throw new StartupError(error.code, error.message, { cause: error });
    }
    throw error;
  }
}

/**
 * The server: the core, the first admin bootstrapped from the environment, and the
 * HTTP app over it (not yet listening).
 */
export async function createTokenwarden(
  config: Config,
  overrides: TokenwardenOverrides = {},
): Promise<Tokenwarden> {
  const core = await createCore(config, overrides);
  let limitsRedis: Redis | undefined;
  try {
    // The dummy hash for unknown emails is made on first use; make it now, so the first
    // failed login costs what every other one does.
    await core.context.hasher.verifyDummy('warm-up');
    const bootstrapLog = pino({ level: config.logLevel, name: 'admin-bootstrap' }, overrides.logStream);
    if (config.admin === null) {
      bootstrapLog.info(
        'admin bootstrap: skipped (TOKENWARDEN_ADMIN_EMAIL is unset; `tokenwarden users create --admin` makes one)',
      );
    } else {
      const outcome = await new EnsureAdminHandler(core.context).handle(
        EnsureAdmin({ email: config.admin.email, password: config.admin.password, actor: 'system' }),
      );
      if (!outcome.ok) {
        bootstrapLog.error(
          { email: config.admin.email, code: outcome.error.code },
          'admin bootstrap refused',
        );
        throw new Error(`TOKENWARDEN_ADMIN_EMAIL / TOKENWARDEN_ADMIN_PASSWORD: ${outcome.error.message}`);
      }
      bootstrapLog.info(
        { email: config.admin.email, ...outcome.value },
        outcome.value.passwordMatches
          ? `admin bootstrap: ${outcome.value.outcome}`
          : 'admin bootstrap: unchanged (the admin has a password other than TOKENWARDEN_ADMIN_PASSWORD, changed since?)',
      );
    }
    // Loaded here, not at the top: the CLI builds the core without HTTP and starts faster without fastify.
    const { buildHttpApp } = await import('./http/app.js');
    limitsRedis = config.redisUrl === null ? undefined : await sharedLimitsRedis(config.redisUrl);
    const app = await buildHttpApp(
      {
        services: core.services,
        metrics: core.metrics,
        jwks: () => core.keyStore.jwks(),
        ready: () => core.ready(),
        invalidation: () => core.invalidation(),
        onRevocationChange: (listener) => core.onChange(listener),
        webhooks: core.webhooks.deliveries,
        // The invalidation channel in the prefix: deployments (and test runs) sharing a Redis stay apart.
        ...(limitsRedis === undefined
          ? {}
          : { sharedLimits: { redis: limitsRedis, prefix: `${config.accessCache.channel}:limits:` } }),
      },
      {
        bodyLimitBytes: config.bodyLimitBytes,
        trustProxy: config.trustProxy,
        rateLimit: config.rateLimit,
        logger: overrides.logger ?? loggerOptions(config.logLevel),
        connections: config.connections,
        metricsEndpoint: config.metricsEndpoint,
        docs: config.docs,
        feed: config.feed,
        // A derived URL (localhost:<port>) says nothing to a reader of the document: relative then.
        ...(config.publicUrlConfigured ? { documentServerUrl: config.publicUrl } : {}),
        oauth: {
          issuer: config.issuer,
          publicUrl: config.publicUrl,
          clientId: config.clientId,
          audience: config.audience,
        },
        corsOrigins: config.corsOrigins,
        publicUrl: config.publicUrl,
      },
    );
    core.webhooks.startRelay();
    core.successorSweep.start();
    core.pruner.start();
    // After the admin bootstrap and the app: a rotation owed since before this start runs now, once.
    core.rotationSchedule.start();
    return {
      app,
      services: core.services,
      context: core.context,
      db: core.db,
      keyStore: core.keyStore,
      webhooks: core.webhooks,
      successorSweep: core.successorSweep,
      pruner: core.pruner,
      invalidation: () => core.invalidation(),
      async close() {
        await app.close();
        limitsRedis?.disconnect();
        await core.close();
      },
    };
  } catch (error) {
    limitsRedis?.disconnect();
    await core.close();
    throw error;
  }
}

/**
 * The connection the rate limits and the per-account lock share. Commands fail at once
 * while it is down (no offline queue, one retry) and after 1 s when it hangs, so a login
 * falls back to this instance's limits instead of waiting on Redis.
 */
async function sharedLimitsRedis(url: string): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    connectTimeout: 2_000,
    // A Redis that accepts but does not answer must not stall logins either.
    commandTimeout: 1_000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(times * 200, 5_000),
  });
  // Errors surface on each command, which falls back and is logged there.
  redis.on('error', () => {});
  return redis;
}
