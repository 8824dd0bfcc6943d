import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { HttpDeps } from '../app.js';
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

export const systemRoutes =
  (deps: HttpDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/health',
      {
        schema: {
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
          tags: ['system'],
          summary: 'Readiness: the database answers',
          description:
            'A degraded cache invalidation keeps the instance ready: entries then expire after the fallback TTL.',
          response: { 200: ReadySchema, 503: ReadySchema },
        },
      },
      async (_request, reply) => {
        const up = await deps.ready().catch(() => false);
        const invalidation = deps.invalidation?.();
        return reply.code(up ? 200 : 503).send({
          status: up ? 'ready' : 'not_ready',
          database: up ? 'up' : 'down',
          ...(invalidation === undefined ? {} : { invalidation }),
        });
      },
    );

    app.get(
      '/metrics',
      { schema: { tags: ['system'], summary: 'Prometheus metrics', hide: false } },
      async (_r, reply) => {
        reply.type(deps.metrics.registry.contentType);
        return deps.metrics.registry.metrics();
      },
    );

    app.get(
      '/.well-known/jwks.json',
      {
        schema: {
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

    app.get('/openapi.json', { schema: { hide: true, response: { ...problemResponses() } } }, async () =>
      app.swagger(),
    );
  };
