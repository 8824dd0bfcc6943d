import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ChangePassword } from '../../application/commands/change-password/command.js';
import { RegisterUser } from '../../application/commands/register-user/command.js';
import { TriggerUserTokenRotation } from '../../application/commands/trigger-user-token-rotation/command.js';
import type { UserView } from '../../application/queries/list-users/query.js';
import type { Services } from '../../application/services.js';
import { TokenwardenError } from '../../domain/errors.js';
import { err, type Result } from '../../domain/result.js';
import { principalOf } from '../auth.js';
import { withIsoDates } from '../iso-dates.js';
import {
  emptyBodyAsObject,
  type Guards,
  publicRoute,
  type RateLimits,
  tokensAfterPasswordCheck,
  unwrap,
} from '../route-kit.js';
import {
  ChangePasswordBody,
  MeSchema,
  problemResponses,
  RegisteredUserSchema,
  RegistrationBody,
  SelfRotationBody,
  TokenPairSchema,
  UserRotationResultSchema,
} from '../schemas.js';

const LOG_OUT_EVERYWHERE_REASON = 'log out everywhere';

/** The signed-in user; one deleted since the token was issued is a 401, not a 404. */
async function signedInUser(services: Services, userId: string): Promise<Result<UserView>> {
  const user = await services.getUser.execute(userId);
  return user.ok ? user : err(new TokenwardenError('unauthorized', 'The user no longer exists'));
}

export const userRoutes =
  (services: Services, guards: Guards, limits: RateLimits): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/users',
      publicRoute(limits.credentials, {
        operationId: 'registerUser',
        tags: ['users'],
        summary: 'Register a user',
        body: RegistrationBody,
        response: { 201: RegisteredUserSchema, ...problemResponses(409, 422) },
      }),
      async (request, reply) => {
        const user = unwrap(
          await services.registerUser.handle(
            RegisterUser({
              email: request.body.email,
              password: request.body.password,
              role: 'user',
              actor: 'self',
            }),
          ),
        );
        return reply.code(201).send(withIsoDates(user));
      },
    );

    app.get(
      '/users/me',
      {
        preHandler: guards.requireAuth,
        schema: {
          operationId: 'getMe',
          tags: ['users'],
          summary: 'The signed-in user',
          security: [{ bearer: [] }],
          response: { 200: MeSchema, ...problemResponses(401) },
        },
      },
      async (request) => {
        const user = unwrap(await signedInUser(services, principalOf(request).userId));
        return { id: user.id, email: user.email, role: user.role, minTokenVersion: user.minTokenVersion };
      },
    );

    app.post(
      '/users/me/password',
      {
        onRequest: limits.credentials,
        preHandler: guards.requireAuth,
        schema: {
          operationId: 'changePassword',
          tags: ['users'],
          summary: 'Change password: this device stays signed in, every other device is signed out',
          security: [{ bearer: [] }],
          body: ChangePasswordBody,
          response: { 200: TokenPairSchema, ...problemResponses(401, 422, 429) },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const user = unwrap(await signedInUser(services, principal.userId));
        // A stolen access token must not buy unlimited guesses at the password: the same
        // per-account throttle as logins, keyed by the account's email.
        const change = ChangePassword({
          userId: principal.userId,
          sessionId: principal.sessionId,
          currentPassword: request.body.currentPassword,
          newPassword: request.body.newPassword,
        });
        return tokensAfterPasswordCheck(limits.account, reply, { email: user.email, ip: request.ip }, () =>
          services.changePassword.handle(change),
        );
      },
    );

    app.post(
      '/users/me/rotations',
      {
        preHandler: guards.requireAuth,
        preValidation: emptyBodyAsObject,
        schema: {
          operationId: 'logOutEverywhere',
          tags: ['users'],
          summary: 'Log out everywhere: rotate all of my tokens',
          security: [{ bearer: [] }],
          body: SelfRotationBody,
          response: { 201: UserRotationResultSchema, ...problemResponses(401, 422) },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const result = unwrap(
          await services.triggerUserTokenRotation.handle(
            TriggerUserTokenRotation({
              userId: principal.userId,
              triggeredBy: principal.userId,
              reason: request.body?.reason ?? LOG_OUT_EVERYWHERE_REASON,
            }),
          ),
        );
        return reply.code(201).send(withIsoDates(result));
      },
    );
  };
