import { isIP } from 'node:net';
import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';
import { redactUrl } from './domain/redact-url.js';
import { MASTER_KEY_ENV, masterKeyProblem, PREVIOUS_MASTER_KEY_ENV } from './master-key.js';

/**
 * Every environment variable tokenwarden reads, parsed and validated once at start.
 * A bad value stops start-up with a message naming the variable.
 */
const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  DATABASE_PREPARED_STATEMENTS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  // Bounds on waiting for PostgreSQL while serving: past them a request answers 503 (docs/RELIABILITY.md).
  TOKENWARDEN_DB_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 3_000 }),
  TOKENWARDEN_DB_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000 }),
  TOKENWARDEN_DB_LOCK_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 3_000 }),
  TOKENWARDEN_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: Type.Integer({
    minimum: 1_000,
    maximum: 3_600_000,
    default: 15_000,
  }),
  // A server starting before its database (a compose start) tries again this long, then gives up.
  TOKENWARDEN_DB_STARTUP_WAIT_SECONDS: Type.Integer({ minimum: 0, maximum: 3_600, default: 60 }),
  // Which parts make /ready answer 503 when they fail (the database always does).
  TOKENWARDEN_READY_REQUIRES: Type.String({
    pattern: '^(database|redis|invalidation)(,(database|redis|invalidation))*$',
    default: 'database,redis,invalidation',
  }),
  // Whatever the database does, a request is answered within this (503 when its work is not done).
  TOKENWARDEN_RESPONSE_DEADLINE_MS: Type.Integer({ minimum: 500, maximum: 600_000, default: 8_000 }),
  // A Redis command of the shared rate limits: past this, the limits of this instance's memory answer.
  TOKENWARDEN_REDIS_COMMAND_TIMEOUT_MS: Type.Integer({ minimum: 5, maximum: 10_000, default: 100 }),
  // Each invalidation subscription sends itself a heartbeat this often, and is declared dead when one is this late.
  TOKENWARDEN_SUBSCRIPTION_HEARTBEAT_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 1_000 }),
  TOKENWARDEN_SUBSCRIPTION_DEAD_AFTER_MS: Type.Integer({ minimum: 100, maximum: 300_000, default: 3_000 }),
  // Lower case only: an unquoted search_path entry is folded to lower case. pg_ names are the system's.
  TOKENWARDEN_DB_SCHEMA: Type.String({ pattern: '^(?!pg_)[a-z_][a-z0-9_]{0,62}$', default: 'tokenwarden' }),
  TOKENWARDEN_DATA_DIR: Type.String({ minLength: 1, default: './.tokenwarden' }),
  // How long the data directory's lock may go unrenewed before another process takes it over.
  TOKENWARDEN_DATA_DIR_LOCK_STALE_SECONDS: Type.Integer({ minimum: 2, maximum: 600, default: 10 }),
  TOKENWARDEN_ADMIN_EMAIL: Type.Optional(Type.String({ minLength: 3 })),
  TOKENWARDEN_ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 8 })),
  TOKENWARDEN_SIGNING_KEY: Type.Optional(Type.String({ minLength: 1 })),
  // What access tokens are signed with; a change is a key rotation at the next start.
  // A pattern, not a union of literals: its message names the values taken.
  TOKENWARDEN_SIGNING_ALG: Type.String({ pattern: '^(EdDSA|ES256)$', default: 'EdDSA' }),
  // 32+ random bytes as base64/base64url/hex; checked by masterKeyProblem (passphrases are refused).
  TOKENWARDEN_MASTER_KEY: Type.Optional(Type.String({ minLength: 1 })),
  // Both checked by parsePublicUrl: absolute http(s) URLs without credentials, query or fragment.
  TOKENWARDEN_PUBLIC_URL: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  TOKENWARDEN_ISSUER: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  // The client_id of first-party logins (RFC 9068); service clients use their own ids.
  TOKENWARDEN_CLIENT_ID: Type.String({ pattern: '^[\\x21-\\x7E]{1,128}$', default: 'tokenwarden' }),
  TOKENWARDEN_ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 30, maximum: 86_400, default: 900 }),
  TOKENWARDEN_REFRESH_TOKEN_TTL_SECONDS: Type.Integer({
    minimum: 60,
    maximum: 31_536_000,
    default: 1_209_600,
  }),
  TOKENWARDEN_SESSION_MAX_AGE_SECONDS: Type.Integer({ minimum: 60, maximum: 31_536_000, default: 2_592_000 }),
  TOKENWARDEN_REUSE_INTERVAL_SECONDS: Type.Integer({ minimum: 0, maximum: 300, default: 10 }),
  TOKENWARDEN_ARGON2_MEMORY_KIB: Type.Integer({ minimum: 8, maximum: 4_194_304, default: 19_456 }),
  TOKENWARDEN_ARGON2_ITERATIONS: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
  TOKENWARDEN_ARGON2_PARALLELISM: Type.Integer({ minimum: 1, maximum: 16, default: 1 }),
  TOKENWARDEN_RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 20 }),
  TOKENWARDEN_RATE_LIMIT_REFRESH_MAX: Type.Integer({ minimum: 1, default: 120 }),
  TOKENWARDEN_RATE_LIMIT_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
  TOKENWARDEN_LOGIN_ACCOUNT_MAX_FAILURES: Type.Integer({ minimum: 1, default: 10 }),
  TOKENWARDEN_LOGIN_ACCOUNT_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 900 }),
  // The limits count an IPv6 client by its network of this many bits (one host holds a /64).
  TOKENWARDEN_RATE_LIMIT_IPV6_PREFIX: Type.Integer({ minimum: 32, maximum: 128, default: 64 }),
  TOKENWARDEN_BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 10_485_760, default: 65_536 }),
  // A hop count or a list of proxy addresses/CIDRs; parsed by parseTrustProxy (`true` is refused).
  TOKENWARDEN_TRUST_PROXY: Type.Optional(Type.String({ maxLength: 4096 })),
  TOKENWARDEN_CACHE_MAX_ENTRIES: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 10_000 }),
  TOKENWARDEN_CACHE_TTL_SECONDS: Type.Integer({ minimum: 0, maximum: 3_600, default: 60 }),
  TOKENWARDEN_CACHE_FALLBACK_TTL_SECONDS: Type.Integer({ minimum: 0, maximum: 300, default: 2 }),
  TOKENWARDEN_INVALIDATION_CHANNEL: Type.String({
    pattern: '^[A-Za-z0-9_.:-]{1,63}$',
    default: 'tokenwarden_invalidation',
  }),
  TOKENWARDEN_WEBHOOK_URLS: Type.Optional(Type.String({ maxLength: 8192 })),
  TOKENWARDEN_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 16, maxLength: 1024 })),
  TOKENWARDEN_WEBHOOK_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 100, default: 12 }),
  TOKENWARDEN_WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 120_000, default: 10_000 }),
  TOKENWARDEN_WEBHOOK_BACKOFF_BASE_MS: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 5_000 }),
  TOKENWARDEN_WEBHOOK_BACKOFF_MAX_MS: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 3_600_000 }),
  TOKENWARDEN_WEBHOOK_POLL_INTERVAL_MS: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 1_000 }),
  TOKENWARDEN_REJECTION_ROLLUP_INTERVAL_MS: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 60_000 }),
  TOKENWARDEN_SUCCESSOR_SWEEP_INTERVAL_SECONDS: Type.Integer({ minimum: 1, maximum: 300, default: 30 }),
  TOKENWARDEN_ROTATION_SCHEDULE_CHECK_SECONDS: Type.Integer({ minimum: 1, maximum: 3_600, default: 30 }),
  // Audit checkpoints (docs/AUDIT.md): the head is signed after this many new rows, or this long after the
  // oldest row no checkpoint covers yet; each checkpoint is also appended to the file when one is named.
  TOKENWARDEN_AUDIT_CHECKPOINT_ROWS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1_000 }),
  TOKENWARDEN_AUDIT_CHECKPOINT_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
  TOKENWARDEN_AUDIT_CHECKPOINT_FILE: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  TOKENWARDEN_AUDIENCE: Type.String({ minLength: 1, maxLength: 1024, default: 'tokenwarden' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  // Slow clients: the whole request must arrive within this, headers within the next; idle keep-alive.
  TOKENWARDEN_REQUEST_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 3_600, default: 30 }),
  TOKENWARDEN_HEADERS_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 3_600, default: 10 }),
  TOKENWARDEN_KEEP_ALIVE_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 3_600, default: 65 }),
  TOKENWARDEN_MAX_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1_024 }),
  // Unset: on for a loopback HOST or with a metrics token, else off (see metricsEndpointFor).
  TOKENWARDEN_METRICS: Type.Optional(Type.Union([Type.Literal('on'), Type.Literal('off')])),
  // Compared in constant time; 32+ characters so it cannot be guessed online.
  TOKENWARDEN_METRICS_TOKEN: Type.Optional(Type.String({ minLength: 32, maxLength: 1024 })),
  TOKENWARDEN_DOCS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  TOKENWARDEN_MAX_SESSIONS_PER_USER: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
  // The revocation feed's stream: a heartbeat this often (default 5, below the request timeout), and a cap on open streams.
  TOKENWARDEN_FEED_HEARTBEAT_SECONDS: Type.Optional(Type.Integer({ minimum: 1, maximum: 300 })),
  TOKENWARDEN_FEED_MAX_STREAMS: Type.Integer({ minimum: 1, maximum: 100_000, default: 1_000 }),
  // Streams one service client (or admin) may hold on an instance; one more ends its oldest.
  TOKENWARDEN_FEED_MAX_STREAMS_PER_CLIENT: Type.Integer({ minimum: 1, maximum: 100_000, default: 4 }),
  // The master key the stored signing keys were sealed with before TOKENWARDEN_MASTER_KEY changed (read only).
  TOKENWARDEN_MASTER_KEY_PREVIOUS: Type.Optional(Type.String({ minLength: 1 })),
  // Retention (docs/DESIGN.md §6): how often the pruner runs (0 = never on its own), rows per batch, and the
  // windows, as durations (`90`, `15m`, `12h`, `7d`) or `forever`; parsed by parseRetention.
  TOKENWARDEN_PRUNE_INTERVAL_SECONDS: Type.Integer({ minimum: 0, maximum: 86_400, default: 600 }),
  TOKENWARDEN_PRUNE_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 100_000, default: 1_000 }),
  TOKENWARDEN_RETENTION_REVOKED_SESSIONS: Type.String({ maxLength: 32, default: '7d' }),
  TOKENWARDEN_RETENTION_DELIVERED_EVENTS: Type.String({ maxLength: 32, default: '7d' }),
  TOKENWARDEN_RETENTION_UNPUBLISHED_EVENTS: Type.String({ maxLength: 32, default: 'forever' }),
  TOKENWARDEN_RETENTION_AUDIT: Type.String({ maxLength: 32, default: 'forever' }),
  // Comma-separated exact origins allowed to call the API from a browser; parsed by parseCorsOrigins.
  TOKENWARDEN_CORS_ORIGINS: Type.Optional(Type.String({ maxLength: 8192 })),
  // On SIGTERM/SIGINT: how long requests in flight may take to finish before their connections are closed.
  TOKENWARDEN_SHUTDOWN_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 3_600, default: 10 }),
  TOKENWARDEN_SHUTDOWN_DELAY_SECONDS: Type.Integer({ minimum: 0, maximum: 300, default: 0 }),
});

type Env = Static<typeof EnvSchema>;

/**
 * Every variable the configuration reads, with its default as it would be written in the
 * environment (null: unset by default). `.env.example` lists the same, and a test holds them equal.
 */
export function configVariables(): ReadonlyMap<string, string | null> {
  return new Map(
    Object.entries(EnvSchema.properties).map(([name, schema]) => {
      const fallback = (schema as { default?: unknown }).default;
      return [name, fallback === undefined ? null : String(fallback)];
    }),
  );
}

/** The typed configuration the composition root is built from. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly database:
    | {
        readonly kind: 'pglite';
        readonly dataDir: string;
        /** A lock on the directory unrenewed this long is another process's to take over. */
        readonly staleLockSeconds: number;
      }
    | {
        readonly kind: 'postgres';
        readonly url: string;
        readonly poolSize: number;
        /** Hot statements sent named (prepared once per connection); off behind a pooler that cannot keep them. */
        readonly preparedStatements: boolean;
        /** The schema tokenwarden's tables live in (PGlite, a database of its own, ignores it). */
        readonly schema: string;
        /** Bounds on waiting for it while serving (migrations and the CLI's own tools run without). */
        readonly timeouts: {
          readonly connectMs: number;
          readonly statementMs: number;
          readonly lockMs: number;
          readonly idleInTransactionMs: number;
        };
        /** A server that cannot reach it at start tries again with backoff for this long (0: once). */
        readonly startupWaitSeconds: number;
      };
  readonly redisUrl: string | null;
  /** A request is answered within this, 503 when its work is not done by then. */
  readonly responseDeadlineMs: number;
  /** The parts whose failure makes `/ready` answer 503 (the database always). */
  readonly readyRequires: ReadonlySet<'database' | 'redis' | 'invalidation'>;
  /** A shared rate-limit command to Redis waits this long before this instance's memory answers. */
  readonly redisCommandTimeoutMs: number;
  /** Invalidation subscriptions prove they are alive: a heartbeat this often, dead when one is this late. */
  readonly subscriptionHeartbeat: { readonly intervalMs: number; readonly deadAfterMs: number };
  readonly admin: { readonly email: string; readonly password: string } | null;
  readonly signingKey: string | null;
  /** What new signing keys are made for: EdDSA (Ed25519) or ES256 (P-256). */
  readonly signingAlgorithm: 'EdDSA' | 'ES256';
  /** Encrypts stored private signing keys (HKDF-SHA256 → AES-256-GCM); null keeps them plaintext. */
  readonly masterKey: string | null;
  /** The public base URL (no trailing slash): the OAuth metadata's endpoints are under it. */
  readonly publicUrl: string;
  /** Whether TOKENWARDEN_PUBLIC_URL was set (else publicUrl is derived from HOST and PORT). */
  readonly publicUrlConfigured: boolean;
  /** `iss` of access tokens and the OAuth metadata's `issuer`: a URL, the public URL by default. */
  readonly issuer: string;
  /** `client_id` of access tokens from first-party logins and refreshes. */
  readonly clientId: string;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  readonly sessionMaxAgeSeconds: number;
  readonly reuseIntervalSeconds: number;
  readonly argon2: { readonly memoryCost: number; readonly timeCost: number; readonly parallelism: number };
  readonly rateLimit: {
    readonly max: number;
    readonly refreshMax: number;
    readonly windowSeconds: number;
    /** Per account (normalised email): failed logins per window before the failing sources get 429. */
    readonly accountMaxFailures: number;
    readonly accountWindowSeconds: number;
    /** IPv6 clients are counted by their network of this many bits; IPv4 by the address. */
    readonly ipv6Prefix: number;
  };
  readonly bodyLimitBytes: number;
  /**
   * Which proxies' `X-Forwarded-For` entries to believe: off, a hop count (the address
   * that many hops in from the socket), or the proxies' addresses/CIDRs. Never "all".
   */
  readonly trustProxy: TrustProxy;
  readonly logLevel: string;
  /** Outbox relay to webhook receivers; off while `urls` is empty. */
  readonly webhooks: {
    readonly urls: readonly string[];
    readonly secret: string | null;
    readonly maxAttempts: number;
    readonly timeoutMs: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
    readonly pollIntervalMs: number;
  };
  /** How often rotation rejections are rolled up into one outbox event. */
  readonly rejectionRollupIntervalMs: number;
  /** The in-process cache of versions the bearer check reads, and its invalidation channel. */
  readonly accessCache: {
    readonly maxEntries: number;
    readonly ttlSeconds: number;
    readonly fallbackTtlSeconds: number;
    readonly channel: string;
  };
  /** How often used tokens' sealed successors past the reuse interval are cleared. */
  readonly successorSweepIntervalSeconds: number;
  /** How often each server asks whether the rotation schedule owes a notice or a rotation. */
  readonly rotationScheduleCheckSeconds: number;
  /** Signed checkpoints of the audit chain: after this many rows or seconds, and the file they are appended to. */
  readonly auditCheckpoints: {
    readonly rows: number;
    readonly seconds: number;
    readonly file: string | null;
  };
  /** The `aud` of access tokens, required on this service's own routes. */
  readonly audience: string;
  /** Bounds on slow or idle clients, and on the connections one instance holds. */
  readonly connections: {
    readonly requestTimeoutSeconds: number;
    readonly headersTimeoutSeconds: number;
    readonly keepAliveTimeoutSeconds: number;
    readonly maxConnections: number;
  };
  /**
   * `/metrics`: served or not, the bearer token it then requires (null: none), and, when it
   * is off only because of where it listens, the start-up line saying how to turn it on.
   */
  readonly metricsEndpoint: {
    readonly enabled: boolean;
    readonly token: string | null;
    readonly offByDefault: string | null;
  };
  /** `/docs` and `/openapi.json`: served or not. */
  readonly docs: boolean;
  /** Live sessions one user may hold; a login past it revokes the oldest (audited). */
  readonly maxSessionsPerUser: number;
  /** A former master key, only to open signing keys sealed with it (they are re-sealed at start). */
  readonly previousMasterKey: string | null;
  /** The revocation feed's stream: heartbeat interval (also its safety-net poll) and open streams per instance. */
  readonly feed: {
    readonly heartbeatSeconds: number;
    readonly maxStreams: number;
    readonly maxStreamsPerClient: number;
  };
  /** The pruner: its period (0: no background pass), rows per batch, and windows in seconds (null: for ever). */
  readonly retention: {
    readonly intervalSeconds: number;
    readonly batchSize: number;
    readonly revokedSessionsSeconds: number | null;
    readonly deliveredEventsSeconds: number | null;
    readonly unpublishedEventsSeconds: number | null;
    readonly auditSeconds: number | null;
  };
  /** Browser origins allowed to call the API (exact `scheme://host[:port]`); empty: none. */
  readonly corsOrigins: readonly string[];
  /** On a stop signal, how long requests in flight may take before their connections are closed. */
  readonly shutdownTimeoutSeconds: number;
  /** On a stop signal, how long to keep listening with `/ready` at 503 before the drain closes the listener. */
  readonly shutdownDelaySeconds: number;
}

export type TrustProxy = false | number | readonly string[];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'config_invalid';

  constructor(
    /** Each problem, with the variable it names and, unless that variable holds a secret, its value. */
    readonly problems: readonly ConfigProblem[],
  ) {
    super(`Invalid configuration:\n  ${problems.map((p) => p.message).join('\n  ')}`);
  }
}

/** One thing wrong with the environment. */
export interface ConfigProblem {
  /** The variable the problem names first (null when it names none). */
  readonly variable: string | null;
  readonly message: string;
  /** The value as set; absent for a secret, a URL's password masked. */
  readonly value?: string;
}

/** Variables whose value never appears in a message or a log line (by what their name ends with). */
const SECRET_VARIABLE = /_(PASSWORD|SECRET|TOKEN|MASTER_KEY|MASTER_KEY_PREVIOUS|SIGNING_KEY)$/;

/**
 * The problems found in the environment, each filed under the variable it is about: that
 * variable's value is shown with it (see {@link ConfigProblem}), unless it holds a secret.
 */
class ConfigProblems {
  readonly #found: ConfigProblem[] = [];

  constructor(readonly source: Readonly<Record<string, string | undefined>>) {}

  get count(): number {
    return this.#found.length;
  }

  get all(): readonly ConfigProblem[] {
    return this.#found;
  }

  /** Files `message` under `variable` (null: it names none, e.g. the environment as a whole). */
  add(variable: string | null, message: string): void {
    const raw = variable === null ? undefined : this.source[variable];
    if (variable === null || raw === undefined || SECRET_VARIABLE.test(variable)) {
      this.#found.push({ variable, message });
    } else {
      this.#found.push({ variable, message, value: variable.endsWith('_URL') ? redactUrl(raw) : raw });
    }
  }
}

/** Parses `process.env` (or any record); throws {@link ConfigError} naming each bad variable. */
export function loadConfig(source: Readonly<Record<string, string | undefined>> = process.env): Config {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  // Convert truncates "1.5" to 1 for an integer (and may convert in place): such a value is
  // kept as typed, so it is refused.
  const converted = Value.Convert(EnvSchema, { ...picked }) as Record<string, unknown>;
  for (const [key, schema] of Object.entries(EnvSchema.properties)) {
    const typed = picked[key];
    if (
      (schema as { type?: string }).type === 'integer' &&
      typeof typed === 'string' &&
      !/^\s*-?\d+\s*$/.test(typed)
    )
      converted[key] = typed;
  }
  const env = Value.Default(EnvSchema, converted) as Env;
  const problems = new ConfigProblems(source);
  for (const error of Value.Errors(EnvSchema, env)) {
    const variable = error.instancePath.replace(/^\//, '');
    problems.add(variable || null, `${variable || '(environment)'} ${error.message}`);
  }
  if ((env.TOKENWARDEN_ADMIN_EMAIL === undefined) !== (env.TOKENWARDEN_ADMIN_PASSWORD === undefined)) {
    problems.add(
      'TOKENWARDEN_ADMIN_EMAIL',
      'TOKENWARDEN_ADMIN_EMAIL and TOKENWARDEN_ADMIN_PASSWORD must be set together',
    );
  }
  if (env.TOKENWARDEN_MASTER_KEY !== undefined) {
    const problem = masterKeyProblem(env.TOKENWARDEN_MASTER_KEY);
    if (problem !== null) problems.add(MASTER_KEY_ENV, problem);
  }
  if (env.TOKENWARDEN_MASTER_KEY_PREVIOUS !== undefined && env.TOKENWARDEN_MASTER_KEY === undefined) {
    problems.add(
      PREVIOUS_MASTER_KEY_ENV,
      `${PREVIOUS_MASTER_KEY_ENV} needs ${MASTER_KEY_ENV}: the new key the signing keys are re-sealed with`,
    );
  }
  const webhookUrls = parseWebhookUrls(env.TOKENWARDEN_WEBHOOK_URLS, problems);
  if (webhookUrls.length > 0 && env.TOKENWARDEN_WEBHOOK_SECRET === undefined) {
    problems.add(
      'TOKENWARDEN_WEBHOOK_SECRET',
      'TOKENWARDEN_WEBHOOK_SECRET is required when TOKENWARDEN_WEBHOOK_URLS is set',
    );
  }
  if (webhookUrls.length > 0 && env.DATABASE_URL !== undefined && env.DATABASE_POOL_SIZE < 2) {
    // The relay's advisory lock keeps one pooled connection while it leads.
    problems.add(
      'DATABASE_POOL_SIZE',
      'DATABASE_POOL_SIZE must be at least 2 when TOKENWARDEN_WEBHOOK_URLS is set',
    );
  }
  const trustProxy = parseTrustProxy(env.TOKENWARDEN_TRUST_PROXY, problems);
  const publicUrl =
    parsePublicUrl('TOKENWARDEN_PUBLIC_URL', env.TOKENWARDEN_PUBLIC_URL, problems) ??
    defaultPublicUrl(env.HOST, env.PORT);
  const issuer = parsePublicUrl('TOKENWARDEN_ISSUER', env.TOKENWARDEN_ISSUER, problems) ?? publicUrl;
  if (env.TOKENWARDEN_AUDIENCE === publicUrl) {
    // Client-credentials tokens are for tokenwarden itself (aud = the public URL): a resource
    // server checking TOKENWARDEN_AUDIENCE must never take one for a user's token.
    problems.add(
      'TOKENWARDEN_AUDIENCE',
      'TOKENWARDEN_AUDIENCE must differ from TOKENWARDEN_PUBLIC_URL (the audience of service-client tokens)',
    );
  }
  const corsOrigins = parseCorsOrigins(env.TOKENWARDEN_CORS_ORIGINS, problems);
  if (env.TOKENWARDEN_HEADERS_TIMEOUT_SECONDS > env.TOKENWARDEN_REQUEST_TIMEOUT_SECONDS) {
    // Node refuses a headers timeout longer than the request timeout.
    problems.add(
      'TOKENWARDEN_HEADERS_TIMEOUT_SECONDS',
      'TOKENWARDEN_HEADERS_TIMEOUT_SECONDS must not exceed TOKENWARDEN_REQUEST_TIMEOUT_SECONDS',
    );
  }
  if (env.TOKENWARDEN_SUBSCRIPTION_DEAD_AFTER_MS <= env.TOKENWARDEN_SUBSCRIPTION_HEARTBEAT_MS) {
    problems.add(
      'TOKENWARDEN_SUBSCRIPTION_DEAD_AFTER_MS',
      'TOKENWARDEN_SUBSCRIPTION_DEAD_AFTER_MS must be longer than TOKENWARDEN_SUBSCRIPTION_HEARTBEAT_MS',
    );
  }
  const feedHeartbeat = env.TOKENWARDEN_FEED_HEARTBEAT_SECONDS;
  if (feedHeartbeat !== undefined && feedHeartbeat >= env.TOKENWARDEN_REQUEST_TIMEOUT_SECONDS) {
    // A proxy in front cuts a response that stays silent for its own read timeout, usually set alike.
    problems.add(
      'TOKENWARDEN_FEED_HEARTBEAT_SECONDS',
      'TOKENWARDEN_FEED_HEARTBEAT_SECONDS must be shorter than TOKENWARDEN_REQUEST_TIMEOUT_SECONDS',
    );
  }
  const retention = {
    intervalSeconds: env.TOKENWARDEN_PRUNE_INTERVAL_SECONDS,
    batchSize: env.TOKENWARDEN_PRUNE_BATCH_SIZE,
    revokedSessionsSeconds: parseRetention(
      'TOKENWARDEN_RETENTION_REVOKED_SESSIONS',
      env.TOKENWARDEN_RETENTION_REVOKED_SESSIONS,
      problems,
    ),
    deliveredEventsSeconds: parseRetention(
      'TOKENWARDEN_RETENTION_DELIVERED_EVENTS',
      env.TOKENWARDEN_RETENTION_DELIVERED_EVENTS,
      problems,
    ),
    unpublishedEventsSeconds: parseRetention(
      'TOKENWARDEN_RETENTION_UNPUBLISHED_EVENTS',
      env.TOKENWARDEN_RETENTION_UNPUBLISHED_EVENTS,
      problems,
    ),
    auditSeconds: parseRetention('TOKENWARDEN_RETENTION_AUDIT', env.TOKENWARDEN_RETENTION_AUDIT, problems),
  };
  if (problems.count > 0) throw new ConfigError(problems.all);

  return {
    port: env.PORT,
    host: env.HOST,
    database:
      env.DATABASE_URL !== undefined
        ? {
            kind: 'postgres',
            url: env.DATABASE_URL,
            poolSize: env.DATABASE_POOL_SIZE,
            preparedStatements: env.DATABASE_PREPARED_STATEMENTS === 'on',
            schema: env.TOKENWARDEN_DB_SCHEMA,
            timeouts: {
              connectMs: env.TOKENWARDEN_DB_CONNECT_TIMEOUT_MS,
              statementMs: env.TOKENWARDEN_DB_STATEMENT_TIMEOUT_MS,
              lockMs: env.TOKENWARDEN_DB_LOCK_TIMEOUT_MS,
              idleInTransactionMs: env.TOKENWARDEN_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
            },
            startupWaitSeconds: env.TOKENWARDEN_DB_STARTUP_WAIT_SECONDS,
          }
        : {
            kind: 'pglite',
            dataDir: env.TOKENWARDEN_DATA_DIR,
            staleLockSeconds: env.TOKENWARDEN_DATA_DIR_LOCK_STALE_SECONDS,
          },
    redisUrl: env.REDIS_URL ?? null,
    responseDeadlineMs: env.TOKENWARDEN_RESPONSE_DEADLINE_MS,
    readyRequires: new Set([
      'database',
      ...(env.TOKENWARDEN_READY_REQUIRES.split(',') as ('database' | 'redis' | 'invalidation')[]),
    ]),
    redisCommandTimeoutMs: env.TOKENWARDEN_REDIS_COMMAND_TIMEOUT_MS,
    subscriptionHeartbeat: {
      intervalMs: env.TOKENWARDEN_SUBSCRIPTION_HEARTBEAT_MS,
      deadAfterMs: env.TOKENWARDEN_SUBSCRIPTION_DEAD_AFTER_MS,
    },
    admin:
      env.TOKENWARDEN_ADMIN_EMAIL !== undefined && env.TOKENWARDEN_ADMIN_PASSWORD !== undefined
        ? { email: env.TOKENWARDEN_ADMIN_EMAIL, password: env.TOKENWARDEN_ADMIN_PASSWORD }
        : null,
    signingKey: env.TOKENWARDEN_SIGNING_KEY ?? null,
    signingAlgorithm: env.TOKENWARDEN_SIGNING_ALG as Config['signingAlgorithm'],
    masterKey: env.TOKENWARDEN_MASTER_KEY ?? null,
    publicUrl,
    publicUrlConfigured: env.TOKENWARDEN_PUBLIC_URL !== undefined,
    issuer,
    clientId: env.TOKENWARDEN_CLIENT_ID,
    accessTokenTtlSeconds: env.TOKENWARDEN_ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: env.TOKENWARDEN_REFRESH_TOKEN_TTL_SECONDS,
    sessionMaxAgeSeconds: env.TOKENWARDEN_SESSION_MAX_AGE_SECONDS,
    reuseIntervalSeconds: env.TOKENWARDEN_REUSE_INTERVAL_SECONDS,
    argon2: {
      memoryCost: env.TOKENWARDEN_ARGON2_MEMORY_KIB,
      timeCost: env.TOKENWARDEN_ARGON2_ITERATIONS,
      parallelism: env.TOKENWARDEN_ARGON2_PARALLELISM,
    },
    rateLimit: {
      max: env.TOKENWARDEN_RATE_LIMIT_MAX,
      refreshMax: env.TOKENWARDEN_RATE_LIMIT_REFRESH_MAX,
      windowSeconds: env.TOKENWARDEN_RATE_LIMIT_WINDOW_SECONDS,
      accountMaxFailures: env.TOKENWARDEN_LOGIN_ACCOUNT_MAX_FAILURES,
      accountWindowSeconds: env.TOKENWARDEN_LOGIN_ACCOUNT_WINDOW_SECONDS,
      ipv6Prefix: env.TOKENWARDEN_RATE_LIMIT_IPV6_PREFIX,
    },
    bodyLimitBytes: env.TOKENWARDEN_BODY_LIMIT_BYTES,
    trustProxy,
    logLevel: env.LOG_LEVEL,
    webhooks: {
      urls: webhookUrls,
      secret: env.TOKENWARDEN_WEBHOOK_SECRET ?? null,
      maxAttempts: env.TOKENWARDEN_WEBHOOK_MAX_ATTEMPTS,
      timeoutMs: env.TOKENWARDEN_WEBHOOK_TIMEOUT_MS,
      backoffBaseMs: env.TOKENWARDEN_WEBHOOK_BACKOFF_BASE_MS,
      backoffMaxMs: env.TOKENWARDEN_WEBHOOK_BACKOFF_MAX_MS,
      pollIntervalMs: env.TOKENWARDEN_WEBHOOK_POLL_INTERVAL_MS,
    },
    rejectionRollupIntervalMs: env.TOKENWARDEN_REJECTION_ROLLUP_INTERVAL_MS,
    accessCache: {
      maxEntries: env.TOKENWARDEN_CACHE_MAX_ENTRIES,
      ttlSeconds: env.TOKENWARDEN_CACHE_TTL_SECONDS,
      fallbackTtlSeconds: env.TOKENWARDEN_CACHE_FALLBACK_TTL_SECONDS,
      channel: env.TOKENWARDEN_INVALIDATION_CHANNEL,
    },
    successorSweepIntervalSeconds: env.TOKENWARDEN_SUCCESSOR_SWEEP_INTERVAL_SECONDS,
    rotationScheduleCheckSeconds: env.TOKENWARDEN_ROTATION_SCHEDULE_CHECK_SECONDS,
    auditCheckpoints: {
      rows: env.TOKENWARDEN_AUDIT_CHECKPOINT_ROWS,
      seconds: env.TOKENWARDEN_AUDIT_CHECKPOINT_SECONDS,
      file: env.TOKENWARDEN_AUDIT_CHECKPOINT_FILE?.trim() || null,
    },
    audience: env.TOKENWARDEN_AUDIENCE,
    connections: {
      requestTimeoutSeconds: env.TOKENWARDEN_REQUEST_TIMEOUT_SECONDS,
      headersTimeoutSeconds: env.TOKENWARDEN_HEADERS_TIMEOUT_SECONDS,
      keepAliveTimeoutSeconds: env.TOKENWARDEN_KEEP_ALIVE_TIMEOUT_SECONDS,
      maxConnections: env.TOKENWARDEN_MAX_CONNECTIONS,
    },
    metricsEndpoint: metricsEndpointFor(env.TOKENWARDEN_METRICS, env.TOKENWARDEN_METRICS_TOKEN, env.HOST),
    docs: env.TOKENWARDEN_DOCS === 'on',
    maxSessionsPerUser: env.TOKENWARDEN_MAX_SESSIONS_PER_USER,
    previousMasterKey: env.TOKENWARDEN_MASTER_KEY_PREVIOUS ?? null,
    feed: {
      heartbeatSeconds:
        feedHeartbeat ?? Math.max(1, Math.min(5, env.TOKENWARDEN_REQUEST_TIMEOUT_SECONDS - 1)),
      maxStreams: env.TOKENWARDEN_FEED_MAX_STREAMS,
      maxStreamsPerClient: env.TOKENWARDEN_FEED_MAX_STREAMS_PER_CLIENT,
    },
    retention,
    corsOrigins,
    shutdownTimeoutSeconds: env.TOKENWARDEN_SHUTDOWN_TIMEOUT_SECONDS,
    shutdownDelaySeconds: env.TOKENWARDEN_SHUTDOWN_DELAY_SECONDS,
  };
}

/** Text for a problem message: quoted, shortened, with control characters escaped by JSON. */
const quoted = (value: string) => JSON.stringify(value.slice(0, 200));

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };
/** Ten years: longer is "for ever" in all but name, and keeps the arithmetic in range. */
const MAX_RETENTION_SECONDS = 315_360_000;

/**
 * A retention window: whole seconds (`3600`), or a number with a unit (`90s`, `15m`,
 * `12h`, `7d`), or `forever` (null: never pruned).
 */
function parseRetention(name: string, raw: string, problems: ConfigProblems): number | null {
  const value = raw.trim().toLowerCase();
  if (value === 'forever') return null;
  const match = /^(\d{1,10})([smhd]?)$/.exec(value);
  const seconds = match === null ? Number.NaN : Number(match[1]) * (DURATION_UNITS[match[2] || 's'] ?? 1);
  if (!Number.isSafeInteger(seconds) || seconds > MAX_RETENTION_SECONDS) {
    problems.add(
      name,
      `${name}: ${JSON.stringify(raw.slice(0, 40))} is not a duration (seconds, or a number with s, m, h or d, ` +
        'at most ten years) or "forever"',
    );
    return null;
  }
  return seconds;
}

/**
 * An absolute http(s) URL without credentials, query or fragment, its trailing slash
 * dropped (`https://auth.example.com/`, `https://auth.example.com`: one issuer); null
 * when unset. The issuer is compared as a string by every OAuth client, so it is
 * normalised once here.
 */
function parsePublicUrl(name: string, raw: string | undefined, problems: ConfigProblems): string | null {
  if (raw === undefined) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.add(
      name,
      `${name}: ${JSON.stringify(raw.slice(0, 200))} is not an absolute URL (e.g. https://auth.example.com)`,
    );
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.add(name, `${name}: must be an http or https URL, not ${url.protocol}`);
  } else if (
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    raw.includes('?') ||
    raw.includes('#')
  ) {
    problems.add(name, `${name}: must not carry credentials, a query or a fragment (RFC 8414 §2)`);
  } else {
    return url.href.replace(/\/+$/, '');
  }
  return null;
}

/**
 * Whether `host` binds only the loopback interface (a wildcard `0.0.0.0` or `::` does not).
 *
 * @example
 * isLoopbackHost('127.0.0.1'); // true
 */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * `/metrics` from TOKENWARDEN_METRICS, its token and HOST. Unset, it is served on a
 * loopback bind (`npm start`) or behind a token, and off (404) otherwise: the metrics
 * name routes, clients and failure rates, which an open port should not tell anyone.
 */
function metricsEndpointFor(
  setting: 'on' | 'off' | undefined,
  token: string | undefined,
  host: string,
): Config['metricsEndpoint'] {
  const open = setting === undefined && token === undefined && !isLoopbackHost(host);
  return {
    enabled: setting === 'on' || (setting === undefined && !open),
    token: token ?? null,
    offByDefault: open
      ? `/metrics is off: HOST ${host} is not loopback and TOKENWARDEN_METRICS_TOKEN is unset; set TOKENWARDEN_METRICS_TOKEN (or TOKENWARDEN_METRICS=on to serve it without a token)`
      : null,
  };
}

/**
 * Without TOKENWARDEN_PUBLIC_URL: `http://localhost:<port>` on a loopback or wildcard
 * bind (what a browser on the same machine types), else the bound address itself.
 */
function defaultPublicUrl(host: string, port: number): string {
  const local = ['0.0.0.0', '127.0.0.1', '::', '::1', 'localhost'];
  const name = local.includes(host) ? 'localhost' : isIP(host) === 6 ? `[${host}]` : host;
  return `http://${name}:${port}`;
}

/**
 * `TOKENWARDEN_CORS_ORIGINS`: comma-separated exact origins (`https://app.example.com`,
 * `http://localhost:5173`). `*` is refused: the API takes credentials (Authorization), and
 * an allow-everything origin would let any page spend a token the browser holds.
 */
function parseCorsOrigins(raw: string | undefined, problems: ConfigProblems): string[] {
  const origins: string[] = [];
  for (const item of (raw ?? '').split(',')) {
    const candidate = item.trim();
    if (candidate === '') continue;
    if (candidate === '*' || candidate === 'null') {
      problems.add(
        'TOKENWARDEN_CORS_ORIGINS',
        `TOKENWARDEN_CORS_ORIGINS: ${candidate} is refused (list each origin that may call the API with credentials)`,
      );
      continue;
    }
    let url: URL | null = null;
    try {
      url = new URL(candidate);
    } catch {
      // reported below
    }
    if (
      url === null ||
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      url.origin !== candidate.toLowerCase()
    ) {
      problems.add(
        'TOKENWARDEN_CORS_ORIGINS',
        `TOKENWARDEN_CORS_ORIGINS: ${quoted(candidate)} is not an origin (scheme://host[:port], no path or trailing slash)`,
      );
    } else if (!origins.includes(url.origin)) {
      origins.push(url.origin);
    }
  }
  return origins;
}

// proxy-addr's names for the private ranges.
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * `TOKENWARDEN_TRUST_PROXY`: unset/`false` (off), a hop count, or comma-separated proxy
 * addresses/CIDRs. `true` would trust every hop, so the left-most `X-Forwarded-For`
 * entry, which the client writes itself, would become the address rate limits key on.
 */
function parseTrustProxy(raw: string | undefined, problems: ConfigProblems): TrustProxy {
  const value = raw?.trim() ?? '';
  if (value === '' || value.toLowerCase() === 'false') return false;
  if (value.toLowerCase() === 'true') {
    problems.add(
      'TOKENWARDEN_TRUST_PROXY',
      'TOKENWARDEN_TRUST_PROXY=true is refused: trusting every hop makes the left-most X-Forwarded-For ' +
        'entry, which the client writes itself, the address rate limits count. Set the hop count of your ' +
        'proxies (e.g. 1 for one nginx in front) or their addresses/CIDRs (e.g. 10.0.0.0/8)',
    );
    return false;
  }
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops >= 1 && hops <= 32) return hops;
    if (hops === 0) return false;
    problems.add('TOKENWARDEN_TRUST_PROXY', 'TOKENWARDEN_TRUST_PROXY: a hop count must be between 1 and 32');
    return false;
  }
  const entries = value.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    if (!NAMED_RANGES.has(entry) && !isAddressOrCidr(entry)) {
      problems.add(
        'TOKENWARDEN_TRUST_PROXY',
        `TOKENWARDEN_TRUST_PROXY: ${JSON.stringify(entry.slice(0, 100))} is not a hop count, an IP address or a CIDR`,
      );
    }
  }
  return entries;
}

function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Comma-separated absolute http(s) URLs, each once; a bad one is a problem naming the variable. */
function parseWebhookUrls(raw: string | undefined, problems: ConfigProblems): string[] {
  const urls: string[] = [];
  for (const item of (raw ?? '').split(',')) {
    const candidate = item.trim();
    if (candidate === '') continue;
    let url: URL;
    try {
      url = new URL(candidate);
    } catch {
      problems.add(
        'TOKENWARDEN_WEBHOOK_URLS',
        `TOKENWARDEN_WEBHOOK_URLS: ${JSON.stringify(candidate.slice(0, 200))} is not a URL`,
      );
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.add(
        'TOKENWARDEN_WEBHOOK_URLS',
        `TOKENWARDEN_WEBHOOK_URLS: ${url.protocol} URLs are not supported (use http or https)`,
      );
    } else if (url.username !== '' || url.password !== '') {
      // fetch refuses them; a token in the path or query string works.
      problems.add(
        'TOKENWARDEN_WEBHOOK_URLS',
        `TOKENWARDEN_WEBHOOK_URLS: ${url.host} has credentials in the URL, which fetch refuses`,
      );
    } else if (urls.includes(url.href)) {
      problems.add(
        'TOKENWARDEN_WEBHOOK_URLS',
        `TOKENWARDEN_WEBHOOK_URLS: ${url.origin}${url.pathname} is listed twice`,
      );
    } else {
      urls.push(url.href);
    }
  }
  return urls;
}
