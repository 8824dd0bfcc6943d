import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { TokenwardenError } from '../../domain/errors.js';
import type { HttpDeps } from '../http-deps.js';
import { problemResponses } from '../schemas.js';

/** How long a JWKS answer may be cached: a retired key is gone from caches within this. */
const JWKS_MAX_AGE_SECONDS = 60;

const Transport = Type.Union([Type.Literal('redis'), Type.Literal('postgres'), Type.Literal('local')]);
const State = Type.Union([Type.Literal('subscribed'), Type.Literal('degraded')]);

const ReadySchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready'), Type.Literal('draining')]),
  database: Type.Union([
    Type.Literal('up'),
    Type.Literal('down'),
    Type.Literal('read_only'),
    Type.Literal('timeout'),
  ]),
  redis: Type.Optional(Type.Union([Type.Literal('up'), Type.Literal('down')])),
  invalidation: Type.Optional(
    Type.Object({
      transport: Transport,
      state: State,
      transports: Type.Optional(Type.Array(Type.Object({ transport: Transport, state: State }))),
    }),
  ),
  failing: Type.Array(
    Type.Union([Type.Literal('database'), Type.Literal('redis'), Type.Literal('invalidation')]),
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
          summary: 'Readiness: every part this instance needs works, and it is not shutting down',
          description:
            'Answered within 2 s whatever the parts do. The database must take a write (a standby, a read-only ' +
            'or full database is `read_only`/`down`), each cache-invalidation subscription must be alive (it ' +
            "proves it with a heartbeat of its own), and the shared rate limits' Redis, when configured, must " +
            'answer. `failing` names what is not. From the start of a graceful shutdown the answer is 503 with ' +
            'status `draining`, so a load balancer stops sending before the connections close. ' +
            'TOKENWARDEN_READY_REQUIRES chooses which parts count.',
          response: {
            200: { ...ReadySchema, description: 'Ready' },
            503: {
              ...ReadySchema,
              description:
                'Not ready: `failing` names the parts that fail, or the instance is shutting down (`draining`)',
            },
          },
        },
      },
      async (request, reply) => {
        const draining = request.server.draining?.() === true;
        const readiness = await deps.readiness();
        const ready = readiness.failing.length === 0;
        const { invalidation } = readiness;
        return reply.code(ready && !draining ? 200 : 503).send({
          status: draining ? 'draining' : ready ? 'ready' : 'not_ready',
          database: readiness.database,
          ...(readiness.redis === undefined ? {} : { redis: readiness.redis }),
          ...(invalidation === undefined
            ? {}
            : {
                invalidation: {
                  transport: invalidation.transport,
                  state: invalidation.state,
                  ...(invalidation.transports === undefined
                    ? {}
                    : { transports: invalidation.transports.map((t) => ({ ...t })) }),
                },
              }),
          failing: [...readiness.failing],
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
        // Short: a retired key must leave HTTP caches and the verifiers that honour them within
        // a minute (docs/VERIFIER.md, "Plain JWKS verifiers and retired keys").
        reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
        const jwks = await deps.jwks();
        return { keys: jwks.keys.map((k) => ({ ...k })) };
      },
    );

    const auditKeys = deps.auditKeys;
    if (auditKeys !== undefined) {
      app.get(
        '/.well-known/tokenwarden-audit-keys.json',
        {
          schema: {
            operationId: 'getAuditCheckpointKeys',
            security: [],
            tags: ['system'],
            summary: 'The public key that signs audit checkpoints (never an access-token key)',
            description:
              "A JWK Set with the Ed25519 key that signs the audit chain's checkpoints: no `use`, `alg` EdDSA, " +
              '`purpose` `tokenwarden-audit-checkpoint`. Access tokens never verify under it; `tokenwarden audit ' +
              'verify --public-key` takes this document as it is.',
            response: { 200: Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }) },
          },
        },
        async (_request, reply) => {
          reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
          const jwks = await auditKeys();
          return { keys: jwks.keys.map((k) => ({ ...k })) };
        },
      );
    }

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
  // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
  const match = /^Bearer (.+)$/i.exec(header ?? '');
  const given = match?.[1] ?? '';
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected)) && match !== null;
}
