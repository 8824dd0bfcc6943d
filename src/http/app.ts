import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { WebhookDeliveries } from '../application/ports/webhook-deliveries.js';
import type { Services } from '../application/services.js';
import { type ErrorCode, TokenwardenError, validationError } from '../domain/errors.js';
import type { PrometheusMetrics } from '../infrastructure/metrics/prometheus-metrics.js';
import { authGuards } from './auth.js';
import { LoginThrottle } from './login-throttle.js';
import { sendProblem } from './problem.js';
import { adminRoutes } from './routes/admin.js';
import { adminConsoleRoutes } from './routes/admin-console.js';
import { adminSigningKeyRoutes } from './routes/admin-signing-keys.js';
import { adminWebhookRoutes } from './routes/admin-webhooks.js';
import { sessionRoutes } from './routes/sessions.js';
import { systemRoutes } from './routes/system.js';
import { tokenRoutes } from './routes/tokens.js';
import { userRoutes } from './routes/users.js';
import { ProblemSchema } from './schemas.js';
import { createValidatorCompiler, refuseUnstorableStrings } from './validation.js';

export interface HttpOptions {
  readonly bodyLimitBytes: number;
  readonly trustProxy: boolean;
  readonly rateLimit: {
    readonly max: number;
    readonly refreshMax: number;
    readonly windowSeconds: number;
    readonly accountMaxFailures: number;
    readonly accountWindowSeconds: number;
  };
  readonly logger: FastifyServerOptions['logger'];
}

export interface HttpDeps {
  readonly services: Services;
  readonly metrics: PrometheusMetrics;
  readonly jwks: () => Promise<{ readonly keys: readonly object[] }>;
  /** Whether the database answers; `/ready` reports it. */
  readonly ready: () => Promise<boolean>;
  /** The webhook relay's deliveries, for the admin endpoints (absent: no such routes). */
  readonly webhooks?: WebhookDeliveries;
  /** Cache invalidation's transport and state; `/ready` reports it (degraded is still ready: TTL). */
  readonly invalidation?: () => {
    readonly transport: 'redis' | 'postgres' | 'local';
    readonly state: 'subscribed' | 'degraded';
  };
}

export type App = FastifyInstance;

const STATUS_CODES: Record<number, ErrorCode> = {
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** Builds the HTTP API over the application services; it does not listen. */
export async function buildHttpApp(deps: HttpDeps, options: HttpOptions): Promise<App> {
  const app = Fastify({
    logger: options.logger,
    bodyLimit: options.bodyLimitBytes,
    trustProxy: options.trustProxy,
    // Ids come from crypto, not a counter, so they do not leak request volume.
    genReqId: () => crypto.randomUUID(),
    ajv: undefined,
    // The router's own errors bypass setErrorHandler: without this a path parameter over
    // maxParamLength answered 414 in fastify's JSON shape, echoing the whole URL (found by the fuzz).
    frameworkErrors: (error, _request, reply) => {
      const problem =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new TokenwardenError('not_found', 'No such resource: a path parameter is too long to be an id')
          : new TokenwardenError('bad_request', 'The request URL is malformed');
      return sendProblem(reply, problem);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(createValidatorCompiler());
  // Every route, with or without a schema for a part: nothing unstorable reaches the database.
  app.addHook('preValidation', refuseUnstorableStrings);
  app.decorateRequest('principal', null);
  app.addSchema(ProblemSchema);

  app.setErrorHandler((error: FastifyError | TokenwardenError, request, reply) => {
    if (error instanceof TokenwardenError) return sendProblem(reply, error);
    if (error.validation) {
      const errors = error.validation.map((v) => {
        const missing = (v.params as { missingProperty?: string; additionalProperty?: string }) ?? {};
        const field = missing.missingProperty ?? missing.additionalProperty;
        const path = `${v.instancePath}${field === undefined ? '' : `/${field}`}` || '/';
        const message =
          missing.additionalProperty !== undefined ? 'is not an accepted field' : (v.message ?? 'is invalid');
        return { path, message };
      });
      return sendProblem(
        reply,
        validationError(errors, `The request ${error.validationContext ?? 'input'} is not valid`),
      );
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = STATUS_CODES[status] ?? 'bad_request';
      // Parser messages name the problem ("Unexpected token } in JSON") without echoing secrets.
      return sendProblem(reply, new TokenwardenError(code, error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, new TokenwardenError('internal_error', 'An unexpected error occurred'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new TokenwardenError('not_found', `No route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  await app.register(helmet, {
    // The API answers JSON; the CSP below is for /docs, whose assets are served locally.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        scriptSrc: ["'self'"],
      },
    },
  });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new TokenwardenError('rate_limited', `Too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`, {
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'tokenwarden',
        description: 'Session and refresh-token service with O(1) breach rotation',
        version: '0.1.0',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  const guards = authGuards(deps.services);
  const window = `${options.rateLimit.windowSeconds} seconds`;
  const limits = {
    credentials: { max: options.rateLimit.max, timeWindow: window },
    refresh: { max: options.rateLimit.refreshMax, timeWindow: window },
    account: new LoginThrottle({
      maxFailures: options.rateLimit.accountMaxFailures,
      windowSeconds: options.rateLimit.accountWindowSeconds,
    }),
  };
  await app.register(systemRoutes(deps));
  await app.register(adminConsoleRoutes());
  await app.register(
    async (api) => {
      await api.register(userRoutes(deps.services, guards, limits));
      await api.register(sessionRoutes(deps.services, guards, limits));
      await api.register(tokenRoutes(deps.services, limits));
      await api.register(adminRoutes(deps.services, guards));
      await api.register(adminSigningKeyRoutes(deps.services, guards));
      if (deps.webhooks !== undefined) await api.register(adminWebhookRoutes(deps.webhooks, guards));
    },
    { prefix: '/api/v1' },
  );
  return app;
}
