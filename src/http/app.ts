import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import type { Config, TrustProxy } from '../config.js';
import {
  type ErrorCode,
  ServiceUnavailableError,
  TokenwardenError,
  validationError,
} from '../domain/errors.js';
import { AccessLog } from './access-log.js';
import { authGuards } from './auth.js';
import { answerClientError } from './client-error.js';
import type { HttpDeps } from './http-deps.js';
import { LoginThrottle } from './login-throttle.js';
import { KnownPaths } from './method-not-allowed.js';
import { documentFrameworkProblems, openapiOptions } from './openapi.js';
import { sendError, sendProblem } from './problem.js';
import { rateLimitAddress } from './rate-limit-address.js';
import { rememberingSerializerFactory } from './response-serializers.js';
import type { RateLimitHook, RateLimits } from './route-kit.js';
import { adminRoutes } from './routes/admin.js';
import { adminConsoleRoutes } from './routes/admin-console.js';
import { forwardAuthRoutes } from './routes/forward-auth.js';
import { type OAuthOptions, oauthRoutes } from './routes/oauth.js';
import { revocationRoutes } from './routes/revocations.js';
import { sessionRoutes } from './routes/sessions.js';
import { systemRoutes } from './routes/system.js';
import { tokenRoutes } from './routes/tokens.js';
import { userRoutes } from './routes/users.js';
import { ProblemSchema } from './schemas.js';
import { createValidatorCompiler, refuseUnstorableStrings } from './validation.js';

export interface HttpOptions {
  readonly bodyLimitBytes: number;
  /** Off, a hop count, or the proxies' addresses/CIDRs (never every hop: see config.ts). */
  readonly trustProxy: TrustProxy;
  readonly rateLimit: Config['rateLimit'];
  readonly logger: FastifyServerOptions['logger'];
  /** Timeouts on slow clients and the cap on open connections. */
  readonly connections: Config['connections'];
  readonly metricsEndpoint: Config['metricsEndpoint'];
  readonly docs: boolean;
  /** The revocation feed's stream: heartbeat interval and open streams per instance. */
  readonly feed: Config['feed'];
  /** The OAuth surface's issuer, public URL, first-party client id and audience. */
  readonly oauth: Omit<OAuthOptions, 'docs'>;
  /** The document's `servers` entry: the public base URL, or `/` (relative to where it was fetched). */
  readonly documentServerUrl?: string;
  /** Browser origins allowed to call the API; empty: no CORS headers at all. */
  readonly corsOrigins: readonly string[];
  /** Where browsers reach this service; an https one keeps `upgrade-insecure-requests` in the CSP. */
  readonly publicUrl: string | null;
  /** Every request is answered within this: 503 when its work is not done by then (default 8 000 ms). */
  readonly responseDeadlineMs?: number;
}

export type App = FastifyInstance;

const STATUS_CODES: Record<number, ErrorCode> = {
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

const CONNECTIONS_CHECK_MS = 500;

/** Builds the HTTP API over the application services; it does not listen. */
export async function buildHttpApp(deps: HttpDeps, options: HttpOptions): Promise<App> {
  const { connections } = options;
  // Node closes a late request at its next check after the timeout: ending each timeout one
  // check early keeps the close within the configured number of seconds.
  const withinMs = (seconds: number) => seconds * 1000 - CONNECTIONS_CHECK_MS;
  const app = Fastify({
    logger: options.logger,
    bodyLimit: options.bodyLimitBytes,
    trustProxy: trustProxyOption(options.trustProxy),
    // A client must send its whole request within requestTimeout (408, then closed), its
    // headers within headersTimeout; an idle keep-alive connection closes after keepAliveTimeout.
    requestTimeout: withinMs(connections.requestTimeoutSeconds),
    // Node's two timeouts above start with the first byte: a connection that sends nothing
    // would hold its slot forever. Idle sockets are closed after the request timeout too.
    connectionTimeout: connections.requestTimeoutSeconds * 1000,
    keepAliveTimeout: connections.keepAliveTimeoutSeconds * 1000,
    http: {
      headersTimeout: withinMs(connections.headersTimeoutSeconds),
      requestTimeout: withinMs(connections.requestTimeoutSeconds),
      // Node checks the two timeouts above on this interval (default 30 s, which would double the bound).
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
    },
    // Ids come from crypto, not a counter, so they do not leak request volume.
    genReqId: () => crypto.randomUUID(),
    logController: new AccessLog(),
    ajv: undefined,
    // Response serializers built once per process, not once per app (response-serializers.ts).
    schemaController: { compilersFactory: { buildSerializer: rememberingSerializerFactory } },
    // The router's own errors bypass setErrorHandler: without this a path parameter over
    // maxParamLength answered 414 in fastify's JSON shape, echoing the whole URL (found by the fuzz).
    frameworkErrors: (error, _request, reply) => {
      const problem =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new TokenwardenError('not_found', 'No such resource: a path parameter is too long to be an id')
          : new TokenwardenError('bad_request', 'The request URL is malformed');
      return sendProblem(reply, problem);
    },
    // What Node's parser refuses (an unknown method, a malformed request line) never reaches
    // a route or frameworkErrors: answered as problem+json too.
    clientErrorHandler: answerClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Connections past the cap are closed on accept: slow clients cannot take every socket and file descriptor.
  app.server.maxConnections = connections.maxConnections;

  app.setValidatorCompiler(createValidatorCompiler());
  // Every route, with or without a schema for a part: nothing unstorable reaches the database.
  app.addHook('preValidation', refuseUnstorableStrings);
  app.decorateRequest('principal', null);
  app.decorateRequest('serviceClient', null);
  app.addSchema(ProblemSchema);

  const unavailableLog = unavailabilityLogger(app.log);
  // The one error handler: problem+json, or RFC 6749 §5.2 JSON on routes that say so (sendError).
  app.setErrorHandler((error: FastifyError | TokenwardenError, request, reply) => {
    if (error instanceof ServiceUnavailableError) unavailableLog(error);
    if (error instanceof TokenwardenError) return sendError(reply, error);
    if (error.validation) {
      const errors = error.validation.map((v) => {
        const missing = (v.params as { missingProperty?: string; additionalProperty?: string }) ?? {};
        const field = missing.missingProperty ?? missing.additionalProperty;
        const path = `${v.instancePath}${field === undefined ? '' : `/${field}`}` || '/';
        // The path names the field: "is required" reads right in problem+json and RFC 6749 alike.
        const message =
          missing.additionalProperty !== undefined
            ? 'is not an accepted field'
            : missing.missingProperty !== undefined
              ? 'is required'
              : (v.message ?? 'is invalid');
        return { path, message };
      });
      return sendError(
        reply,
        validationError(errors, `The request ${error.validationContext ?? 'input'} is not valid`),
      );
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = STATUS_CODES[status] ?? 'bad_request';
      // Parser messages name the problem ("Unexpected token } in JSON") without echoing secrets.
      return sendError(reply, new TokenwardenError(code, error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, new TokenwardenError('internal_error', 'An unexpected error occurred'));
  });
  // Before any route: every route is known for 405s, and documented with the problems
  // fastify and the hooks answer before its handler (openapi.ts).
  const knownPaths = new KnownPaths();
  app.addHook('onRoute', (route) => {
    knownPaths.add(route);
    documentFrameworkProblems(route);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = knownPaths.allowed(path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendProblem(
        reply,
        new TokenwardenError('method_not_allowed', `${request.method} is not allowed on ${path}`),
      );
    }
    return sendProblem(reply, new TokenwardenError('not_found', `No route ${request.method} ${path}`));
  });

  // Whatever a dependency does (a database that stopped answering, a pool with no free
  // connection), the client gets an answer: 503 with Retry-After, through the one
  // error handler (problem+json, or RFC 6749 JSON on the OAuth routes). The work itself
  // is bounded by the database timeouts; this bounds the sum of them.
  const deadlineMs = options.responseDeadlineMs ?? 8_000;
  const deadlines = new WeakMap<object, NodeJS.Timeout>();
  app.addHook('onRequest', async (request, reply) => {
    const timer = setTimeout(() => {
      if (reply.sent || reply.raw.headersSent) return;
      reply.send(
        new ServiceUnavailableError(null, `The request could not be completed within ${deadlineMs} ms`),
      );
    }, deadlineMs);
    timer.unref();
    deadlines.set(request, timer);
  });
  app.addHook('onRequestAbort', async (request) => {
    clearTimeout(deadlines.get(request));
  });

  // One hook a response (it runs on every request): the deadline's timer ends, the metrics count.
  app.addHook('onResponse', async (request, reply) => {
    clearTimeout(deadlines.get(request));
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  await app.register(helmet, {
    // The API answers JSON; the CSP below is for /docs, whose assets are served locally.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        scriptSrc: ["'self'"],
        // Helmet's default upgrades every subresource to https: served over plain http at any
        // address but localhost, the console then loaded neither its stylesheet nor its script.
        upgradeInsecureRequests: options.publicUrl?.startsWith('https:') === true ? [] : null,
      },
    },
  });
  if (options.corsOrigins.length > 0) {
    await app.register(cors, {
      // Exact matches only (strings, not patterns); an unlisted origin gets no allow header.
      origin: [...options.corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'],
      // A 429's wait, which a browser client would otherwise not be allowed to read.
      exposedHeaders: ['Retry-After'],
      // Bearer tokens travel in a header the page sets: no cookies, so never Allow-Credentials.
      credentials: false,
      maxAge: 600,
      // Answered with 204 (the default), which every browser accepts for a preflight.
      strictPreflight: true,
    });
  }
  const limitLog = app.log.child({ component: 'rate-limit' });
  const onSharedError = sharedErrorLogger(limitLog);
  await app.register(rateLimit, {
    global: false,
    ...(deps.sharedLimits === undefined
      ? {}
      : {
          store: deps.sharedLimits.rateLimitStore(onSharedError),
        }),
    errorResponseBuilder: (_request, context) =>
      new TokenwardenError('rate_limited', `Too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`, {
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });
  await app.register(
    swagger,
    openapiOptions({
      serverUrl: options.documentServerUrl ?? '/',
      metricsToken: options.metricsEndpoint.enabled && options.metricsEndpoint.token !== null,
    }),
  );
  if (options.docs) await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  const guards = authGuards(deps.services);
  const timeWindow = options.rateLimit.windowSeconds * 1000;
  // One limiter per bucket, each keyed by its name and the address: every route that takes a
  // password draws on the same per-address budget (per-route buckets gave 20 logins, then 20 registrations).
  const limiter = (bucket: string, max: number): RateLimitHook => {
    const hook = app.rateLimit({
      max,
      timeWindow,
      keyGenerator: (request) => `${bucket}:${rateLimitAddress(request.ip, options.rateLimit.ipv6Prefix)}`,
    });
    return async (request, reply) => {
      await hook.call(app, request, reply);
    };
  };
  const limits: RateLimits = {
    credentials: limiter('credentials', options.rateLimit.max),
    refresh: limiter('refresh', options.rateLimit.refreshMax),
    account: new LoginThrottle({
      maxFailures: options.rateLimit.accountMaxFailures,
      windowSeconds: options.rateLimit.accountWindowSeconds,
      ipv6Prefix: options.rateLimit.ipv6Prefix,
      ...(deps.sharedLimits === undefined
        ? {}
        : {
            shared: deps.sharedLimits.throttleStore(options.rateLimit.accountWindowSeconds),
            onSharedError,
          }),
    }),
  };
  await app.register(systemRoutes(deps, { metrics: options.metricsEndpoint, docs: options.docs }));
  await app.register(adminConsoleRoutes());
  await app.register(oauthRoutes(deps.services, guards, limits, { ...options.oauth, docs: options.docs }));
  await app.register(
    async (api) => {
      await api.register(userRoutes(deps.services, guards, limits));
      await api.register(sessionRoutes(deps.services, guards, limits));
      await api.register(tokenRoutes(deps.services, limits));
      await api.register(adminRoutes(deps, guards), { prefix: '/admin' });
      await api.register(revocationRoutes(deps, guards, options.feed));
      // No rate limit: a gateway's checks all come from its few addresses, one per request
      // its clients make; a per-address budget would throttle every client at once (docs/GATEWAYS.md).
      await api.register(forwardAuthRoutes(guards));
    },
    { prefix: '/api/v1' },
  );
  return app;
}

/**
 * `warn` at most once per `intervalMs`, told how many calls it skipped since: a failure
 * that repeats on every request logs once per interval, not once per request.
 */
function throttled<T>(intervalMs: number, warn: (value: T, skipped: number) => void): (value: T) => void {
  let lastWarned = 0;
  let skipped = 0;
  return (value) => {
    const now = Date.now();
    if (now - lastWarned < intervalMs) {
      skipped += 1;
      return;
    }
    lastWarned = now;
    warn(value, skipped);
    skipped = 0;
  };
}

/**
 * While the shared store fails, limits fall back to this instance's memory (fail to
 * per-instance, neither open nor closed); one warning per outage, not one per request.
 */
function sharedErrorLogger(log: FastifyBaseLogger): (error: unknown) => void {
  return throttled(60_000, (error) =>
    log.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'shared rate-limit store unreachable: limits hold per instance until it answers',
    ),
  );
}

/**
 * A dependency that is down answers every request with 503 until it is back: one warning
 * a second says so (with how many were answered that way since), not one per request.
 */
function unavailabilityLogger(log: FastifyBaseLogger): (error: ServiceUnavailableError) => void {
  return throttled(1_000, (error: ServiceUnavailableError, alsoAnswered503) => {
    const cause = error.cause instanceof Error ? error.cause.message : undefined;
    log.warn(
      { dependency: error.dependency, detail: error.message, cause, alsoAnswered503 },
      'service unavailable: answering 503 with Retry-After',
    );
  });
}

/**
 * A hop count as a function: fastify 5.12 ignores a numeric trustProxy (it cannot check
 * that the peer is a proxy). The n hops nearest the socket are taken as proxies, so the
 * port must be reachable only through them (docs/DEPLOYMENT.md, "Behind a reverse proxy").
 */
function trustProxyOption(
  trust: TrustProxy,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (trust === false) return false;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return [...trust];
}
