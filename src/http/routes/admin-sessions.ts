import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../../application/services.js';
import { unwrap } from '../route-kit.js';
import {
  pageOf,
  problemResponses,
  SessionSchema,
  SessionsQuery,
  sessionPageJson,
  UserIdParams,
} from '../schemas.js';

/** One user's active sessions, as an admin sees them. */
export const adminSessionRoutes =
  (services: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/users/:userId/sessions',
      {
        schema: {
          operationId: 'listUserSessions',
          summary: "A user's active sessions, newest first",
          params: UserIdParams,
          querystring: SessionsQuery,
          response: { 200: pageOf(SessionSchema), ...problemResponses(404, 422) },
        },
      },
      async (request) => {
        const user = unwrap(await services.getUser.execute(request.params.userId));
        const page = unwrap(
          await services.listSessions.execute({
            userId: user.id,
            currentSessionId: null,
            limit: request.query.limit,
            cursor: request.query.cursor,
          }),
        );
        return sessionPageJson(page);
      },
    );
  };
