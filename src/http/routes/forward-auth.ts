import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Role } from '../../domain/user.js';
import { principalOf, requireRole } from '../auth.js';
import { type Guards, noStore } from '../route-kit.js';

/** The route and every path below it (Envoy's ext_authz appends the original path to its prefix). */
const FORWARD_AUTH_PATH = '/forward-auth';

const RequiredRole = Type.Union([Type.Literal('user'), Type.Literal('admin')]);

const Query = Type.Object(
  {
    role: Type.Optional({
      ...RequiredRole,
      description: 'The role the token must carry: 403 `insufficient_scope` for any other',
    }),
  },
  // Envoy appends the original request's query to the path: its other parameters are not ours.
  { additionalProperties: true },
);

const Headers = Type.Object({
  'x-tokenwarden-require-role': Type.Optional({
    ...RequiredRole,
    description: 'The role the token must carry, set by the gateway (the same as `?role=`)',
  }),
});

const IDENTITY_HEADERS = {
  'X-Tokenwarden-Sub': { type: 'string', description: "The user's id (the token's `sub`)" },
  'X-Tokenwarden-Sid': { type: 'string', description: "The session id (the token's `sid`)" },
  'X-Tokenwarden-Role': { type: 'string', description: "The user's role (the token's `role`)" },
} as const;

const CHALLENGE = {
  'WWW-Authenticate': {
    type: 'string',
    description:
      'RFC 6750: `Bearer realm="tokenwarden"` when no bearer token came; `error="invalid_token"` with an ' +
      '`error_description` naming the code for a refused one; `error="insufficient_scope"` (403) for the wrong role',
  },
} as const;

/** An answer with a status and headers and no body (`type: null`: no content in the document). */
const bare = (description: string, headers?: Record<string, unknown>) => ({
  description,
  type: 'null',
  ...(headers === undefined ? {} : { headers }),
});

const schema = {
  operationId: 'forwardAuth',
  tags: ['gateway'],
  summary: "A gateway's check of the original request's bearer access token",
  description:
    'For nginx `auth_request`, Caddy `forward_auth`, Traefik `ForwardAuth` and Envoy `ext_authz` (HTTP): ' +
    "the original request's `Authorization` header gets the same check as every bearer route " +
    '(signature, expiry, rotations, revocations, disabled users, retired keys). Any method and any path ' +
    'below `/api/v1/forward-auth/` are answered the same (Envoy sends the original method and appends the ' +
    'original path); a request body is never read. Answers carry no body, problems included: a gateway ' +
    'passes on the status and `WWW-Authenticate`. Not rate limited (docs/GATEWAYS.md).',
  security: [{ bearer: [] }],
  querystring: Query,
  headers: Headers,
  response: {
    200: bare('The token is valid: who it names, for the gateway to pass upstream', IDENTITY_HEADERS),
    401: bare('No bearer token, or one that is invalid, expired, revoked or rotated', CHALLENGE),
    403: bare('A valid token without the required role', CHALLENGE),
    422: bare('The required role is not a role, or the query holds NUL or an unpaired surrogate'),
    503: bare('A dependency is down or too slow (`Retry-After` says when to retry)', {
      'Retry-After': { type: 'integer', description: 'Seconds after which a retry may succeed' },
    }),
  },
};

/** Every role the gateway named (query and header): each must be the token's. */
function requiredRoles(request: FastifyRequest): Role[] {
  const query = request.query as { readonly role?: Role };
  const header = request.headers['x-tokenwarden-require-role'] as Role | undefined;
  return [query.role, header].filter((role) => role !== undefined);
}

/**
 * `GET /api/v1/forward-auth` (any method, any path below it): the bearer check of
 * `requireAuth` for a gateway, answered with identity headers and no body. docs/GATEWAYS.md
 * has the gateway configurations.
 */
export function forwardAuthRoutes(guards: Guards): FastifyPluginAsyncTypebox {
  return async (app) => {
    // A gateway may forward the original request's body (a POST's): never read or parsed,
    // whatever its type or size; Node discards what is left of it once the answer is sent.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

    const check = async (request: FastifyRequest, reply: FastifyReply) => {
      for (const role of requiredRoles(request)) requireRole(request, reply, role);
      const { userId, sessionId, role } = principalOf(request);
      // A cache between the gateway and us must not keep a yes after a revocation.
      noStore(reply);
      reply.header('x-tokenwarden-sub', userId);
      reply.header('x-tokenwarden-sid', sessionId);
      reply.header('x-tokenwarden-role', role);
      return reply.code(200).send();
    };
    const config = { errorFormat: 'status' as const };
    app.get(FORWARD_AUTH_PATH, { preHandler: guards.requireAuth, config, schema }, check);
    const hidden = { ...schema, hide: true };
    app.route({
      method: app.supportedMethods.filter((method) => method !== 'GET' && method !== 'HEAD'),
      url: FORWARD_AUTH_PATH,
      preHandler: guards.requireAuth,
      config,
      schema: hidden,
      handler: check,
    });
    app.all(`${FORWARD_AUTH_PATH}/*`, { preHandler: guards.requireAuth, config, schema: hidden }, check);
  };
}
