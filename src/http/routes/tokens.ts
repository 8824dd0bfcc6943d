import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { RefreshTokens } from '../../application/commands/refresh-tokens/command.js';
import type { Services } from '../../application/services.js';
import { clientFacts, noStore, publicRoute, type RateLimits, unwrap } from '../route-kit.js';
import { problemResponses, RefreshBody, TokenPairSchema } from '../schemas.js';

export const tokenRoutes =
  (services: Services, limits: RateLimits): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/tokens',
      publicRoute(limits.refresh, {
        operationId: 'refreshTokens',
        tags: ['tokens'],
        summary: 'Exchange a refresh token for a new pair (the presented token is rotated)',
        body: RefreshBody,
        response: { 200: TokenPairSchema, ...problemResponses(401, 422) },
      }),
      async (request, reply) => {
        const pair = unwrap(
          await services.refreshTokens.handle(
            RefreshTokens({ refreshToken: request.body.refreshToken, ...clientFacts(request) }),
          ),
        );
        noStore(reply);
        return pair;
      },
    );
  };
