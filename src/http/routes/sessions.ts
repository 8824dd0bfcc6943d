import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { CreateSession } from '../../application/commands/create-session/command.js';
import { RevokeSession } from '../../application/commands/revoke-session/command.js';
import type { Services } from '../../application/services.js';
import { principalOf } from '../auth.js';
import {
  clientFacts,
  type Guards,
  publicRoute,
  type RateLimits,
  tokensAfterPasswordCheck,
  unwrap,
} from '../route-kit.js';
import {
  Credentials,
  pageOf,
  problemResponses,
  SessionIdParams,
  SessionSchema,
  SessionsQuery,
  sessionPageJson,
  TokenPairSchema,
} from '../schemas.js';

export const sessionRoutes =
  (services: Services, guards: Guards, limits: RateLimits): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/sessions',
      publicRoute(limits.credentials, {
        operationId: 'logIn',
        tags: ['sessions'],
        summary: 'Log in: start a session and get a token pair',
        body: Credentials,
        response: { 201: TokenPairSchema, ...problemResponses(401, 422) },
      }),
      async (request, reply) => {
        const login = CreateSession({
          email: request.body.email,
          password: request.body.password,
          ...clientFacts(request),
        });
        const pair = await tokensAfterPasswordCheck(
          limits.account,
          reply,
          { email: request.body.email, ip: request.ip },
          () => services.createSession.handle(login),
        );
        return reply.code(201).send(pair);
      },
    );

    app.delete(
      '/sessions/current',
      {
        preHandler: guards.requireAuth,
        schema: {
          operationId: 'logOut',
          tags: ['sessions'],
          summary: 'Log out this session',
          security: [{ bearer: [] }],
          response: { 204: Type.Null(), ...problemResponses(401) },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        unwrap(
          await services.revokeSession.handle(
            RevokeSession({
              sessionId: principal.sessionId,
              ownerId: principal.userId,
              actor: principal.userId,
              reason: 'logout',
            }),
          ),
        );
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/sessions',
      {
        preHandler: guards.requireAuth,
        schema: {
          operationId: 'listMySessions',
          tags: ['sessions'],
          summary: 'My active sessions, newest first',
          description: 'Paged: pass `nextCursor` back as `cursor` for the next page (null on the last).',
          security: [{ bearer: [] }],
          querystring: SessionsQuery,
          response: { 200: pageOf(SessionSchema), ...problemResponses(401, 422) },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const page = unwrap(
          await services.listSessions.execute({
            userId: principal.userId,
            currentSessionId: principal.sessionId,
            limit: request.query.limit,
            cursor: request.query.cursor,
          }),
        );
        return sessionPageJson(page);
      },
    );

    app.delete(
      '/sessions/:id',
      {
        preHandler: guards.requireAuth,
        schema: {
          operationId: 'revokeMySession',
          tags: ['sessions'],
          summary: 'Log out one of my sessions',
          security: [{ bearer: [] }],
          params: SessionIdParams,
          response: { 204: Type.Null(), ...problemResponses(401, 404) },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        unwrap(
          await services.revokeSession.handle(
            RevokeSession({
              sessionId: request.params.id,
              ownerId: principal.userId,
              actor: principal.userId,
              reason: 'revoked_by_user',
            }),
          ),
        );
        return reply.code(204).send(null);
      },
    );
  };
