import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { TokenwardenError } from '../../domain/errors.js';
import type { HttpDeps } from '../http-deps.js';
import { problemResponses } from '../schemas.js';

const Transport = Type.Union([Type.Literal('redis'), Type.Literal('postgres'), Type.Literal('local')]);
const State = Type.Union([Type.Literal('subscribed'), Type.Literal('degraded')]);

const ReadySchema = Type.Object({
  status: Type.String(),
  database: Type.String(),
  invalidation: Type.Optional(
    Type.Object({
      transport: Transport,
      state: State,
      transports: Type.Optional(Type.Array(Type.Object({ transport: Transport, state: State }))),
    }),
  ),
});

export interface SystemRouteOptions {
  /** `/metrics`: off (404), public, or behind `Authorization: Bearer <token>`. */
  readonly metrics: { readonly enabled: boolean; readonly token: string | null };
  /** `/openapi.json` (and `/docs`, registered by the app): off answers 404. */
  readonly docs: boolean;
}

export const systemRoutes =
  (deps: HttpDeps, options: SystemRouteOptions): FastifyPluginAsyncTypebox =>
  async (app) => {
    const metricsToken = options.metrics.token;
    // A person who opens the bare address (or a probe that checks it) learns where to go.
    const links = {
      admin: '/admin',
      ...(options.docs ? { docs: '/docs', openapi: '/openapi.json' } : {}),
      health: '/health',
      ready: '/ready',
      jwks: '/.well-known/jwks.json',
      api: '/api/v1',
    };
    app.get(
      '/',
      {
        schema: {
          tags: ['system'],
          operationId: 'getServiceIndex',
          summary: 'What this service is and where its pages are',
          security: [],
          response: {
            200: Type.Object({
              service: Type.Literal('tokenwarden'),
              links: Type.Record(Type.String(), Type.String()),
            }),
          },
        },
      },
      async () => ({ service: 'tokenwarden' as const, links }),
    );
    app.get(
      '/health',
      {
        schema: {
          operationId: 'getHealth',
          security: [],
          tags: ['system'],
          summary: 'Liveness',
          response: { 200: Type.Object({ status: Type.Literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/ready',
      {
        schema: {
          operationId: 'getReadiness',
          security: [],
          tags: ['system'],
          summary: 'Readiness: the database answers and the instance is not shutting down',
          description:
            'A degraded cache invalidation keeps the instance ready: entries then expire after the fallback TTL. ' +
            'From the start of a graceful shutdown the answer is 503 with status `draining`, so a load balancer stops ' +
            'sending before the connections close.',
          response: {
            200: { ...ReadySchema, description: 'Ready' },
            503: {
              ...ReadySchema,
              description:
                'Not ready: the database does not answer (`not_ready`) or the instance is shutting down (`draining`)',
            },
          },
        },
      },
      async (request, reply) => {
        const draining = request.server.draining?.() === true;
        const up = await deps.ready().catch(() => false);
        const invalidation = deps.invalidation?.();
        return reply.code(up && !draining ? 200 : 503).send({
          status: draining ? 'draining' : up ? 'ready' : 'not_ready',
          database: up ? 'up' : 'down',
          ...(invalidation === undefined ? {} : { invalidation }),
        });
      },
    );

    if (options.metrics.enabled) {
      app.get(
        '/metrics',
        {
          ...(metricsToken === null
            ? {}
            : {
                onRequest: async (request: FastifyRequest) => {
                  if (!bearerMatches(request.headers.authorization, metricsToken)) {
                    throw new TokenwardenError('unauthorized', 'The metrics token is missing or wrong');
                  }
                },
              }),
          schema: {
            operationId: 'getMetrics',
            tags: ['system'],
            summary: 'Prometheus metrics',
            security: metricsToken === null ? [] : [{ metricsToken: [] }],
            response: {
              200: {
                description: 'The Prometheus text exposition format',
                content: { 'text/plain': { schema: Type.String() } },
              },
              ...(metricsToken === null ? {} : problemResponses(401)),
            },
            hide: false,
          },
        },
        async (_r, reply) => {
          const { contentType, body } = await deps.metrics.scrape();
          reply.type(contentType);
          return body;
        },
      );
    }

    app.get(
      '/.well-known/jwks.json',
      {
        schema: {
          operationId: 'getJwks',
          security: [],
          tags: ['system'],
          summary: 'Public keys that verify access tokens',
          response: { 200: Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }) },
        },
      },
      async (_request, reply) => {
        reply.header('cache-control', 'public, max-age=300');
        const jwks = await deps.jwks();
        return { keys: jwks.keys.map((k) => ({ ...k })) };
      },
    );

    if (options.docs) {
      app.get('/openapi.json', { schema: { hide: true, response: { ...problemResponses() } } }, async () =>
        app.swagger(),
      );
    }
  };

/**
 * Whether `header` is `Bearer <expected>`. Both sides are hashed first, so the
 * comparison is constant-time and its length does not depend on the guess either.
 */
function bearerMatches(header: string | undefined, expected: string): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  const given = match?.[1] ?? '';
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected)) && match !== null;
}
