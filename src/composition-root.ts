import { resolve } from 'node:path';
import type { FastifyServerOptions } from 'fastify';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { type DestinationStream, pino } from 'pino';
import { AdoptSigningAlgorithm } from './application/commands/adopt-signing-algorithm/command.js';
import { AdoptSigningAlgorithmHandler } from './application/commands/adopt-signing-algorithm/handler.js';
import { EnsureAdmin } from './application/commands/ensure-admin/command.js';
import { EnsureAdminHandler } from './application/commands/ensure-admin/handler.js';
import { RunScheduledRotation } from './application/commands/run-scheduled-rotation/command.js';
import { RunScheduledRotationHandler } from './application/commands/run-scheduled-rotation/handler.js';
import type { AppContext } from './application/context.js';
import type { Clock } from './application/ports/clock.js';
import type { PasswordHasher } from './application/ports/password-hasher.js';
import { createServices, type Services } from './application/services.js';
import { watchGlobalVersion } from './application/version-regression.js';
import type { Config } from './config.js';
import { redactUrl } from './domain/redact-url.js';
import type { App } from './http/app.js';
import type { HttpDeps, Readiness } from './http/http-deps.js';
import { AuditChainer } from './infrastructure/audit/audit-chainer.js';
import { AuditCheckpointer } from './infrastructure/audit/audit-checkpointer.js';
import type { CacheInvalidator } from './infrastructure/cache/cache-invalidator.js';
import { createAccessStateCache } from './infrastructure/cache/create-access-state-cache.js';
import type { InvalidationStatus } from './infrastructure/cache/invalidation-transport.js';
import { RedisCircuit } from './infrastructure/cache/redis-circuit.js';
import { redisRateLimitStore } from './infrastructure/cache/redis-rate-limit-store.js';
import { RedisThrottleStore } from './infrastructure/cache/redis-throttle-store.js';
import { settleWithin } from './infrastructure/clock/settle-within.js';
import { systemClock } from './infrastructure/clock/system-clock.js';
import { Argon2PasswordHasher } from './infrastructure/crypto/argon2-password-hasher.js';
import { AuditCheckpointKeyStore } from './infrastructure/crypto/audit-checkpoint-key-store.js';
import { HkdfSuccessorSealer } from './infrastructure/crypto/hkdf-successor-sealer.js';
import { JwsAccessTokenSigner } from './infrastructure/crypto/jws-access-token-signer.js';
import { createPrivateJwkSealer, SigningKeyUnsealError } from './infrastructure/crypto/private-jwk-sealer.js';
import { RandomTokenGenerator } from './infrastructure/crypto/random-token-generator.js';
import { SigningKeyStore } from './infrastructure/crypto/signing-key-store.js';
import { createDatabase } from './infrastructure/database/create-database.js';
import {
  DatabaseNotInitialisedError,
  DatabaseUnreachableError,
} from './infrastructure/database/database-open-errors.js';
import { MIGRATIONS, migrateToLatest, migrationState } from './infrastructure/database/migrator.js';
import { DataDirInUseError } from './infrastructure/database/pglite-lock.js';
import { type DatabaseReadiness, probeDatabase } from './infrastructure/database/readiness-probe.js';
import { logSerializers } from './infrastructure/database/redact-database-error.js';
import { KyselyUnitOfWork } from './infrastructure/database/repositories/kysely-unit-of-work.js';
import type { Database } from './infrastructure/database/schema.js';
import { SealedSuccessorSweep } from './infrastructure/database/sealed-successor-sweep.js';
import { createVersionMarks } from './infrastructure/high-water/create-version-marks.js';
import { baseLogOptions } from './infrastructure/logging/base-log-options.js';
import { PrometheusMetrics } from './infrastructure/metrics/prometheus-metrics.js';
import { Pruner } from './infrastructure/retention/pruner.js';
import { PeriodicTask } from './infrastructure/scheduling/periodic-task.js';
import { RotationScheduleTimer } from './infrastructure/scheduling/rotation-schedule-timer.js';
import { createWebhooks, type Webhooks } from './infrastructure/webhooks/create-webhooks.js';
import { StartupError } from './startup-error.js';

// The CLI's `webhooks secret` prints a receiver's secret without building anything else.
export { deriveWebhookSecret } from './infrastructure/webhooks/webhook-signature.js';

/** An open database handle: the composition root's own, or one a test made. */
export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  /** PostgreSQL: the schema its tables are in (the configured one, or an older installation's). */
  readonly schema?: string | null;
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
  /**
   * `apply` (default, the server): create the database if need be and run pending
   * migrations. `require-current` (operator commands): create nothing and migrate
   * nothing; a database never set up, or behind this code's migrations, is a
   * {@link StartupError} saying how to fix it.
   */
  readonly migrations?: 'apply' | 'require-current';
}

export interface Tokenwarden {
  readonly app: App;
  /** What the server is built on: what a CLI command sent to it over its control channel runs with. */
  readonly core: Core;
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
    ...baseLogOptions(level),
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
  /** Where it is, for messages ({@link describeDatabase}, with the schema actually in use). */
  readonly where: string;
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
  /** The key that signs audit checkpoints (made on first start). */
  readonly auditKeys: AuditCheckpointKeyStore;
  /** Signs the audit chain's head every N rows or T seconds: started by the server only. */
  readonly auditCheckpointer: AuditCheckpointer;
  /**
   * Chains audit rows after their commit: told by every unit of work that wrote some; its
   * periodic sweep (for rows no trigger chained) is started by the server only.
   */
  readonly auditChainer: AuditChainer;
  /** Whether the database takes a write, answered within `timeoutMs`. */
  databaseReadiness(timeoutMs: number): Promise<DatabaseReadiness>;
  /** Checks the global version against the high-water mark every few seconds: started by the server only. */
  readonly versionWatch: PeriodicTask;
  /** The cache-invalidation transport and whether it is subscribed (else entries use the fallback TTL). */
  invalidation(): InvalidationStatus;
  /** Subscribes to every committed change this instance hears of (the revocation feed's wake-up). */
  onChange(listener: () => void): () => void;
  /** Subscribes to service-client revocations, this instance's and every other's (their streams end). */
  onServiceClientRevoked(listener: (clientId: string) => void): () => void;
  close(): Promise<void>;
}

/**
 * The only place that knows every concrete class: opens the database, migrates it,
 * loads the signing key and builds the handlers over them.
 */
export async function createCore(config: Config, overrides: TokenwardenOverrides = {}): Promise<Core> {
  const clock = overrides.clock ?? systemClock;
  const ownsDatabase = overrides.database === undefined;
  const apply = overrides.migrations !== 'require-current';
  // PostgreSQL migrations run on a connection of their own with no timeouts (a long one must
  // finish); the serving pool is opened after, bounded (docs/RELIABILITY.md, "Faults").
  const migrateFirst = apply && ownsDatabase && config.database.kind === 'postgres';
  // The server (it applies migrations) waits for a database that is not up yet; operator commands do not.
  const waitSeconds = apply && config.database.kind === 'postgres' ? config.database.startupWaitSeconds : 0;
  if (migrateFirst) {
    await migrateDatabase(config, overrides.logStream, { quiet: true, waitSeconds });
  }
  const database =
    overrides.database ??
    (await openDatabase(config, {
      create: apply,
      logStream: overrides.logStream,
      serving: true,
      // Migrations opened it a moment ago: it is up.
      waitSeconds: migrateFirst ? 0 : waitSeconds,
    }));
  let invalidator: CacheInvalidator | undefined;
  let marks: { close(): Promise<void> } | undefined;
  try {
    if (apply && !migrateFirst) await migrateToLatest(database.db);
    else if (!apply) await requireCurrentSchema(database.db, describeDatabase(config));
    const signingKeys = {
      sealer: createPrivateJwkSealer(config.masterKey, config.previousMasterKey),
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      algorithm: config.signingAlgorithm,
    };
    const keyStore = new SigningKeyStore(database.db, clock, {
      ...signingKeys,
      overrideKey: config.signingKey ?? undefined,
    });
    const auditKeys = new AuditCheckpointKeyStore(database.db, clock, { sealer: signingKeys.sealer });
    try {
      await keyStore.ensureActiveKey();
      await auditKeys.ensureKey();
    } catch (error) {
      if (error instanceof SigningKeyUnsealError) {
        throw new StartupError(error.code, error.message, { cause: error });
      }
      throw error;
    }
    const tokens = new RandomTokenGenerator();
    const metrics = new PrometheusMetrics({ defaultMetrics: overrides.defaultMetrics });
    const auditChainer = new AuditChainer({
      db: database.db,
      logger: pino(
        { ...baseLogOptions(config.logLevel, 'audit-chain'), serializers: logSerializers },
        overrides.logStream,
      ),
    });
    const uow = new KyselyUnitOfWork(database.db, {
      signingKeys,
      afterAuditCommit: () => auditChainer.notify(),
    });
    const accessCache = createAccessStateCache({
      uow,
      clock,
      keys: keyStore,
      db: database.db,
      databaseUrl: config.database.kind === 'postgres' ? config.database.url : null,
      redisUrl: config.redisUrl,
      channel: config.accessCache.channel,
      cache: config.accessCache,
      heartbeat: config.subscriptionHeartbeat,
      log: pino(
        { ...baseLogOptions(config.logLevel, 'invalidation'), serializers: logSerializers },
        overrides.logStream,
      ),
    });
    invalidator = accessCache.invalidator;
    const highWaterLog = pino(baseLogOptions(config.logLevel, 'high-water'), overrides.logStream);
    const versionMarks = createVersionMarks({
      redisUrl: config.redisUrl,
      pgliteDataDir: ownsDatabase && config.database.kind === 'pglite' ? config.database.dataDir : null,
      namespace: config.accessCache.channel,
      maxUsers: config.accessCache.maxEntries,
      onStoreError: (error) => highWaterLog.warn({ err: String(error) }, 'high-water store unavailable'),
    });
    marks = versionMarks;
    const webhooks = createWebhooks({
      db: database.db,
      uow,
      clock,
      tokens,
      config,
      logger: pino(
        { ...baseLogOptions(config.logLevel, 'webhooks'), serializers: logSerializers },
        overrides.logStream,
      ),
    });
    const context: AppContext = {
      uow,
      clock,
      tokens,
      hasher: overrides.hasher ?? new Argon2PasswordHasher(config.argon2),
      sealer: new HkdfSuccessorSealer(),
      signer: new JwsAccessTokenSigner({
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
        writeDeadlineMs: config.responseDeadlineMs,
      },
      versionMarks,
    };
    metrics.watchAccessCache({
      stats: () => accessCache.cache.stats(),
      invalidation: () => accessCache.invalidator.status(),
    });
    metrics.watchWebhooks(webhooks.deliveries);
    webhooks.start();
    const successorSweep = new SealedSuccessorSweep(
      { uow, clock, logger: pino(baseLogOptions(config.logLevel, 'successor-sweep'), overrides.logStream) },
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
          { ...baseLogOptions(config.logLevel, 'pruner'), serializers: logSerializers },
          overrides.logStream,
        ),
      },
      {
        ...config.retention,
        reuseIntervalSeconds: config.reuseIntervalSeconds,
        accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      },
    );
    const auditCheckpointer = new AuditCheckpointer(
      {
        db: database.db,
        clock,
        keys: auditKeys,
        chainer: auditChainer,
        logger: pino(
          { ...baseLogOptions(config.logLevel, 'audit-checkpoint'), serializers: logSerializers },
          overrides.logStream,
        ),
      },
      config.auditCheckpoints,
    );
    const scheduledRotation = new RunScheduledRotationHandler(context);
    const rotationSchedule = new RotationScheduleTimer(
      {
        run: () => scheduledRotation.handle(RunScheduledRotation()),
        logger: pino(baseLogOptions(config.logLevel, 'rotation-schedule'), overrides.logStream),
      },
      { checkSeconds: config.rotationScheduleCheckSeconds },
    );
    // Seconds between background checks of the global version (docs/DESIGN.md §7).
    const versionWatch = new PeriodicTask({
      intervalSeconds: 5,
      maxBackoffSeconds: 60,
      pass: () => watchGlobalVersion(context),
      onError: (error) => highWaterLog.warn({ err: String(error) }, 'global version check failed'),
    });
    return {
      db: database.db,
      where: describeDatabase(config, database.schema),
      context,
      versionWatch,
      services: createServices(context),
      keyStore,
      metrics,
      webhooks,
      successorSweep,
      pruner,
      rotationSchedule,
      auditKeys,
      auditCheckpointer,
      auditChainer,
      databaseReadiness: (timeoutMs) => probeDatabase(database.db, timeoutMs),
      invalidation: () => accessCache.invalidator.status(),
      onChange: (listener) => accessCache.invalidator.onChange(listener),
      onServiceClientRevoked: (listener) => accessCache.invalidator.onServiceClientRevoked(listener),
      async close() {
        // The relay stops and the rejection rollup writes its last window while the database is open.
        await webhooks.close();
        // After the relay (its dead letters are audited): the rows written so far are chained.
        await auditChainer.close();
        await successorSweep.close();
        await pruner.close();
        await auditCheckpointer.close();
        await rotationSchedule.close();
        await versionWatch.close();
        // Publishes still in flight go out through the database (NOTIFY): close it last.
        await accessCache.invalidator.close();
        await versionMarks.close();
        if (ownsDatabase) await database.close();
      },
    };
  } catch (error) {
    await invalidator?.close();
    await marks?.close();
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
  logStream?: DestinationStream,
  options: { readonly quiet?: boolean; readonly waitSeconds?: number } = {},
): Promise<{ readonly applied: readonly string[]; readonly latest: string | null }> {
  const database = await openDatabase(config, {
    create: true,
    poolSize: 1,
    logStream,
    quiet: options.quiet,
    waitSeconds: options.waitSeconds ?? 0,
  });
  try {
    const applied = await migrateToLatest(database.db);
    return { applied, latest: Object.keys(MIGRATIONS).at(-1) ?? null };
  } finally {
    await database.close();
  }
}

/**
 * The configured database. What keeps it from opening (a PGlite directory another
 * process holds, a PostgreSQL server that does not answer, and with `create: false` a
 * database never set up) is a {@link StartupError} naming it.
 */
async function openDatabase(
  config: Config,
  options: {
    readonly create: boolean;
    readonly poolSize?: number;
    readonly logStream?: DestinationStream | undefined;
    /** The pool a running instance serves from: bounded by the configured timeouts. */
    readonly serving?: boolean;
    /** Say nothing about a followed schema (it is said by the open that serves). */
    readonly quiet?: boolean | undefined;
    /** A PostgreSQL server not up yet is tried again, with backoff, for this long. */
    readonly waitSeconds?: number;
  },
): Promise<DatabaseHandle> {
  const giveUpAt = Date.now() + (options.waitSeconds ?? 0) * 1000;
  for (let attempt = 1, delayMs = 250; ; attempt++, delayMs = Math.min(delayMs * 2, 5_000)) {
    try {
      return await openDatabaseOnce(config, options);
    } catch (error) {
      const unreachable = error instanceof StartupError && error.cause instanceof DatabaseUnreachableError;
      if (!unreachable || !(error.cause as DatabaseUnreachableError).mayComeUp) throw error;
      const leftMs = giveUpAt - Date.now();
      if (leftMs <= 0) {
        if (attempt === 1) throw error;
        throw new StartupError(
          'database_unreachable',
          `${error.message}; gave up after ${attempt} attempts in ${options.waitSeconds} s (TOKENWARDEN_DB_STARTUP_WAIT_SECONDS)`,
          { cause: error.cause },
        );
      }
      const waitMs = Math.min(delayMs, leftMs);
      pino(baseLogOptions(config.logLevel, 'database'), options.logStream).warn(
        { attempt, retryInMs: waitMs, cause: error.message },
        'the database is not reachable yet: trying again',
      );
      await new Promise((resolveWait) => setTimeout(resolveWait, waitMs));
    }
  }
}

async function openDatabaseOnce(
  config: Config,
  options: Parameters<typeof openDatabase>[1],
): Promise<DatabaseHandle> {
  const where = describeDatabase(config);
  let handle: Awaited<ReturnType<typeof createDatabase>>;
  try {
    handle =
      config.database.kind === 'pglite'
        ? await createDatabase({
            kind: 'pglite',
            dataDir: config.database.dataDir,
            create: options.create,
            staleLockMs: config.database.staleLockSeconds * 1000,
            onWarning: (message) =>
              pino(baseLogOptions(config.logLevel, 'database'), options.logStream).warn(message),
          })
        : await createDatabase({
            kind: 'postgres',
            url: config.database.url,
            schema: config.database.schema,
            create: options.create,
            followExistingSchema: true,
            poolSize: options.poolSize ?? config.database.poolSize,
            preparedStatements: config.database.preparedStatements,
            ...(options.serving === true ? { timeouts: config.database.timeouts } : {}),
          });
  } catch (error) {
    if (error instanceof DataDirInUseError) {
      throw new StartupError(error.code, error.message, { cause: error });
    }
    if (error instanceof DatabaseUnreachableError) {
      throw new StartupError(error.code, `${error.message} (check DATABASE_URL)`, { cause: error });
    }
    if (error instanceof DatabaseNotInitialisedError) throw notInitialised(where, error);
    throw error;
  }
  if (handle.followed !== null && options.quiet !== true) {
    pino(baseLogOptions(config.logLevel, 'database'), options.logStream).warn(
      { configuredSchema: handle.followed.asked, schema: handle.followed.used },
      `tokenwarden's tables are in schema "${handle.followed.used}" (an installation from before ` +
        `TOKENWARDEN_DB_SCHEMA), not in "${handle.followed.asked}": using "${handle.followed.used}". To move ` +
        `them, stop every instance and run the ALTER TABLE … SET SCHEMA statements of docs/BACKUPS.md ` +
        `("Moving to a schema of its own"), or set TOKENWARDEN_DB_SCHEMA=${handle.followed.used} to keep them there`,
    );
  }
  return handle;
}

/**
 * Where the configured database is, for messages: the PGlite path (absolute), or the URL
 * without its password and the schema.
 *
 * @example
 * describeDatabase(config); // 'the PGlite data directory /srv/app/.tokenwarden'
 */
function describeDatabase(config: Config, schemaInUse?: string | null): string {
  return config.database.kind === 'pglite'
    ? `the PGlite data directory ${resolve(config.database.dataDir)}`
    : `the PostgreSQL database ${redactUrl(config.database.url)} (schema ${schemaInUse ?? config.database.schema})`;
}

function notInitialised(where: string, cause?: unknown): StartupError {
  return new StartupError(
    'database_not_initialised',
    `${where} holds no tokenwarden database: create it with \`tokenwarden migrate\` (the server also ` +
      'does on start), or check TOKENWARDEN_DATA_DIR / DATABASE_URL / TOKENWARDEN_DB_SCHEMA if it should exist',
    { cause },
  );
}

/**
 * What an operator command opens instead of migrating: a database this code's queries
 * can run on. One migrated by a newer version is fine (migrations only add, so an older
 * version keeps working during a rolling upgrade); one behind is refused, reads too,
 * since this code's queries may name what those migrations add.
 */
async function requireCurrentSchema(db: Kysely<Database>, where: string): Promise<void> {
  const state = await migrationState(db);
  if (!state.initialised) throw notInitialised(where);
  if (state.pending.length > 0) {
    throw new StartupError(
      'database_behind',
      `${where} is at migration ${state.latestApplied ?? 'none'}, and this version of tokenwarden needs ` +
        `${state.pending.length} more (${state.pending.join(', ')}): upgrade it with \`tokenwarden migrate\` ` +
        '(or start this version of the server, which migrates on start), then run the command again',
    );
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
    // A changed TOKENWARDEN_SIGNING_ALG is a key rotation, once, however many instances start.
    const adoption = await new AdoptSigningAlgorithmHandler(core.context).handle(
      AdoptSigningAlgorithm({ actor: 'system' }),
    );
    if (adoption !== null) {
      pino(baseLogOptions(config.logLevel, 'signing-keys'), overrides.logStream).info(
        adoption,
        `signing algorithm changed from ${adoption.previousAlgorithm} to ${adoption.algorithm}: a new key signs, the old one verifies until the tokens it signed expire`,
      );
    }
    const bootstrapLog = pino(baseLogOptions(config.logLevel, 'admin-bootstrap'), overrides.logStream);
    if (config.admin === null) {
      bootstrapLog.info(
        'admin bootstrap: skipped (TOKENWARDEN_ADMIN_EMAIL is unset; `tokenwarden users create --admin` makes one)',
      );
    } else {
      const outcome = await new EnsureAdminHandler(core.context).handle(
        EnsureAdmin({ email: config.admin.email, password: config.admin.password, actor: 'system' }),
      );
      if (!outcome.ok) {
        throw new StartupError(
          'admin_bootstrap_refused',
          `TOKENWARDEN_ADMIN_EMAIL / TOKENWARDEN_ADMIN_PASSWORD: ${outcome.error.message}`,
        );
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
    limitsRedis =
      config.redisUrl === null
        ? undefined
        : await sharedLimitsRedis(
            config.redisUrl,
            config.redisCommandTimeoutMs,
            pino(baseLogOptions(config.logLevel, 'rate-limit'), overrides.logStream),
          );
    const app = await buildHttpApp(
      {
        services: core.services,
        metrics: core.metrics,
        jwks: () => core.keyStore.jwks(),
        auditKeys: () => core.auditKeys.publicJwks(),
        readiness: () => readiness(core, limitsRedis, config.readyRequires),
        onRevocationChange: (listener) => core.onChange(listener),
        onServiceClientRevoked: (listener) => core.onServiceClientRevoked(listener),
        now: () => core.context.clock.now(),
        webhooks: core.webhooks.deliveries,
        webhookReceivers: config.webhooks.urls.length,
        // The invalidation channel in the prefix: deployments (and test runs) sharing a Redis stay apart.
        ...(limitsRedis === undefined
          ? {}
          : {
              sharedLimits: sharedLimitStores(
                new RedisCircuit(limitsRedis),
                `${config.accessCache.channel}:limits:`,
              ),
            }),
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
        responseDeadlineMs: config.responseDeadlineMs,
      },
    );
    core.webhooks.startRelay();
    core.successorSweep.start();
    core.pruner.start();
    core.auditChainer.start();
    core.auditCheckpointer.start();
    // Refreshes whose answer a stalled database lost get their reuse window back once it answers.
    const settleLog = pino(baseLogOptions(config.logLevel, 'refresh'), overrides.logStream);
    const settleTimer = setInterval(() => {
      void core.services.refreshTokens.settleUnconfirmed().then(({ reopened, settled }) => {
        if (settled > 0)
          settleLog.info({ reopened, settled }, 'refreshes whose answer was lost: reuse windows reopened');
      });
    }, UNCONFIRMED_SETTLE_MS);
    settleTimer.unref();
    // After the admin bootstrap and the app: a rotation owed since before this start runs now, once.
    core.rotationSchedule.start();
    core.versionWatch.start();
    return {
      app,
      core,
      services: core.services,
      context: core.context,
      db: core.db,
      keyStore: core.keyStore,
      webhooks: core.webhooks,
      successorSweep: core.successorSweep,
      pruner: core.pruner,
      invalidation: () => core.invalidation(),
      async close() {
        clearInterval(settleTimer);
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

/** How often the refreshes whose answer was lost are settled with the database. */
const UNCONFIRMED_SETTLE_MS = 1_000;

/** Each readiness check must answer within this, so `/ready` answers within 2 s. */
const READINESS_CHECK_MS = 1_500;

/**
 * What `/ready` reports: the database takes a write, the invalidation subscriptions are
 * alive (their own heartbeats), the rate limits' Redis answers a PING; each bounded, all
 * at once. `required` names the parts whose failure makes the instance not ready.
 */
async function readiness(
  core: Core,
  redis: Redis | undefined,
  required: ReadonlySet<'database' | 'redis' | 'invalidation'>,
): Promise<Readiness> {
  const [database, redisState] = await Promise.all([
    core.databaseReadiness(READINESS_CHECK_MS),
    redis === undefined ? Promise.resolve(undefined) : pingRedis(redis, READINESS_CHECK_MS),
  ]);
  const invalidation = core.invalidation();
  const failing: Readiness['failing'][number][] = [];
  if (database !== 'up') failing.push('database');
  if (redisState === 'down' && required.has('redis')) failing.push('redis');
  if (invalidation.state !== 'subscribed' && required.has('invalidation')) failing.push('invalidation');
  return { database, ...(redisState === undefined ? {} : { redis: redisState }), invalidation, failing };
}

function pingRedis(redis: Redis, timeoutMs: number): Promise<'up' | 'down'> {
  const answer = redis.ping().then(
    () => 'up' as const,
    () => 'down' as const,
  );
  return settleWithin(answer, timeoutMs, 'down' as const);
}

/**
 * The connection the rate limits and the per-account lock share. Commands fail at once
 * while it is down (no offline queue, one retry) and after `commandTimeoutMs` when it
 * hangs, so a login falls back to this instance's limits instead of waiting on Redis.
 *
 * It waits for the first connection (at most the connect timeout) before the instance
 * serves: without the offline queue, logins that arrive while it is still connecting
 * would be counted in this instance's memory only, so a lock earned on another instance
 * would not hold here. A Redis that refuses or does not answer in time does not stop the
 * start: the limits hold per instance until it comes back.
 */
/**
 * The rate limits' and the login lock's stores in Redis, under `prefix` (the per-address
 * counters under `ip:`).
 */
function sharedLimitStores(
  redis: Pick<Redis, 'eval'>,
  prefix: string,
): NonNullable<HttpDeps['sharedLimits']> {
  return {
    rateLimitStore: (onError) => redisRateLimitStore(redis, `${prefix}ip:`, onError),
    throttleStore: (windowSeconds) => new RedisThrottleStore(redis, { prefix, windowSeconds }),
  };
}

async function sharedLimitsRedis(
  url: string,
  commandTimeoutMs: number,
  log: { warn: (message: string) => void },
): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const connectTimeoutMs = 2_000;
  const redis = new Redis(url, {
    connectTimeout: connectTimeoutMs,
    // A Redis that accepts but does not answer must not stall logins either: a few tens of
    // milliseconds, then this instance's limits answer (and the circuit skips Redis a while).
    commandTimeout: connectTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(times * 200, 5_000),
  });
  // Errors surface on each command, which falls back and is logged there.
  redis.on('error', () => {});
  const connected = await firstConnection(redis, connectTimeoutMs);
  // The first connection's ready check may take the connect timeout (a Redis slow at start);
  // from then on a command that takes longer than commandTimeoutMs counts as Redis down.
  redis.options.commandTimeout = commandTimeoutMs;
  if (!connected)
    log.warn('shared rate limits: Redis not reachable at start; limits hold per instance until it is');
  return redis;
}

/** Whether `redis` became ready before it failed once or `timeoutMs` passed. */
function firstConnection(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const settle = (ready: boolean) => () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onFailure);
      redis.off('end', onFailure);
      resolve(ready);
    };
    const onReady = settle(true);
    const onFailure = settle(false);
    const timer = setTimeout(onFailure, timeoutMs);
    redis.once('ready', onReady);
    redis.once('error', onFailure);
    redis.once('end', onFailure);
  });
}
