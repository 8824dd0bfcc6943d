import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { RevokeAllSessions } from '../../application/commands/revoke-all-sessions/command.js';
import { RevokeSession } from '../../application/commands/revoke-session/command.js';
import type { Services } from '../../application/services.js';
import { actorAndReason, emptyBodyAsObject, unwrap } from '../route-kit.js';
import {
  pageOf,
  problemResponses,
  Reason,
  SessionSchema,
  SessionsQuery,
  sessionPageJson,
  UserIdParams,
  Uuid,
} from '../schemas.js';

const RevocationBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });

const UserSessionParams = Type.Object({ userId: Uuid, sessionId: Uuid }, { additionalProperties: false });

const SessionRevokedSchema = Type.Object({
  sessionId: Uuid,
  revokedTokens: Type.Integer({ description: 'Refresh tokens of the session that stopped working now' }),
});

const SessionsRevokedSchema = Type.Object({
  userId: Uuid,
  revokedSessions: Type.Integer({ description: 'Sessions that were active and are ended now' }),
});

/** The reason the audit log shows when an admin gives none (the CLI's default too). */
const BY_ADMIN = 'revoked_by_operator';

/** One user's sessions, as an admin sees and ends them. */
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

    app.post(
      '/users/:userId/sessions/:sessionId/revocation',
      {
        // The reason is optional: no body at all reads as {}.
        preValidation: emptyBodyAsObject,
        schema: {
          operationId: 'revokeUserSession',
          summary: 'Log out one session of any user: it and every refresh token in it stop working (audited)',
          description:
            'What `tokenwarden sessions revoke` does, with this admin as the actor. 404 when the session ' +
            "is not one of this user's. The access tokens of the session are refused at once.",
          params: UserSessionParams,
          body: RevocationBody,
          response: { 200: SessionRevokedSchema, ...problemResponses(404, 422) },
        },
      },
      async (request) => {
        const { actor, reason } = actorAndReason(request);
        const { userId, sessionId } = request.params;
        const result = unwrap(
          await services.revokeSession.handle(
            RevokeSession({ sessionId, ownerId: userId, actor, reason: reason ?? BY_ADMIN }),
          ),
        );
        return { sessionId, revokedTokens: result.revokedTokens };
      },
    );

    app.post(
      '/users/:userId/sessions/revocation',
      {
        // The reason is optional: no body at all reads as {}.
        preValidation: emptyBodyAsObject,
        schema: {
          operationId: 'revokeAllUserSessions',
          summary: 'Log out every session of a user (audited)',
          description:
            'Ends each active session and its refresh tokens, one audit row each. To also refuse every ' +
            'access token already issued at once, in O(1), rotate the user (`POST /users/{userId}/rotations`).',
          params: UserIdParams,
          body: RevocationBody,
          response: { 200: SessionsRevokedSchema, ...problemResponses(404, 422) },
        },
      },
      async (request) => {
        const { actor, reason } = actorAndReason(request);
        const user = unwrap(await services.getUser.execute(request.params.userId));
        const result = unwrap(
          await services.revokeAllSessions.handle(
            RevokeAllSessions({ userId: user.id, actor, reason: reason ?? BY_ADMIN }),
          ),
        );
        return { userId: user.id, revokedSessions: result.revokedSessions };
      },
    );
  };
