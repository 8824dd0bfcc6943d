import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { DisableUser } from '../../application/commands/disable-user/command.js';
import { EnableUser } from '../../application/commands/enable-user/command.js';
import { PromoteUser } from '../../application/commands/promote-user/command.js';
import type { Services } from '../../application/services.js';
import { withIsoDates } from '../iso-dates.js';
import { actorAndReason, emptyBodyAsObject, unwrap } from '../route-kit.js';
import {
  Cursor,
  DateTime,
  Limit,
  NullableDateTime,
  pageOf,
  problemResponses,
  Reason,
  UserIdParams,
  Uuid,
} from '../schemas.js';

const PromotionBody = Type.Object({ reason: Reason }, { additionalProperties: false });

/** Disable and enable: the reason is for the audit log, and optional (as for the CLI). */
const AccessChangeBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });

/** Up to 100 user ids, comma-separated: the console resolves the ids of an audit page in one call. */
const UserIdList = Type.String({
  pattern:
    '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(,[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}){0,99}$',
  description: 'Only these users: up to 100 ids, comma-separated',
});

const UsersQuery = Type.Object(
  {
    email: Type.Optional(Type.String({ maxLength: 320 })),
    ids: Type.Optional(UserIdList),
    limit: Limit,
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

export const UserSchema = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: Type.String(),
  minTokenVersion: Type.Integer(),
  disabledAt: NullableDateTime,
  createdAt: DateTime,
});

/** Accounts: list them, disable and enable one, promote one to admin. Admin only. */
export const adminUserRoutes =
  (services: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/users',
      {
        schema: {
          operationId: 'listUsers',
          summary: 'Users, optionally filtered by email (contains) and by id',
          querystring: UsersQuery,
          response: { 200: pageOf(UserSchema), ...problemResponses(422) },
        },
      },
      async (request) => {
        const { ids, ...rest } = request.query;
        const page = unwrap(
          await services.listUsers.execute({
            ...rest,
            ...(ids === undefined ? {} : { ids: ids.split(',') }),
          }),
        );
        return { items: page.items.map(withIsoDates), nextCursor: page.nextCursor };
      },
    );

    app.post(
      '/users/:userId/disable',
      {
        // The reason is optional: no body at all reads as {}.
        preValidation: emptyBodyAsObject,
        schema: {
          operationId: 'disableUser',
          summary: 'Disable an account: its tokens are refused at once and it cannot log in (audited)',
          description:
            'What `tokenwarden users disable` does: the same handler and audit row, with this admin as ' +
            "the actor. Every instance refuses the user's access and refresh tokens from the next " +
            'request. Disabling a disabled account changes nothing.',
          params: UserIdParams,
          body: AccessChangeBody,
          response: { 200: UserSchema, ...problemResponses(404, 422) },
        },
      },
      async (request) => {
        const { actor, reason } = actorAndReason(request);
        const disabled = unwrap(
          await services.disableUser.handle(
            DisableUser({ userId: request.params.userId, actor, reason: reason ?? null }),
          ),
        );
        return withIsoDates(unwrap(await services.getUser.execute(disabled.userId)));
      },
    );

    app.post(
      '/users/:userId/enable',
      {
        // The reason is optional: no body at all reads as {}.
        preValidation: emptyBodyAsObject,
        schema: {
          operationId: 'enableUser',
          summary: 'Enable a disabled account again; its tokens from before stay refused (audited)',
          description:
            'What `tokenwarden users enable` does: the user is also rotated, so nothing issued before ' +
            'comes back; the owner logs in afresh. Enabling an enabled account changes nothing.',
          params: UserIdParams,
          body: AccessChangeBody,
          response: { 200: UserSchema, ...problemResponses(404, 422) },
        },
      },
      async (request) => {
        const { actor, reason } = actorAndReason(request);
        const enabled = unwrap(
          await services.enableUser.handle(
            EnableUser({ userId: request.params.userId, actor, reason: reason ?? null }),
          ),
        );
        return withIsoDates(unwrap(await services.getUser.execute(enabled.userId)));
      },
    );

    app.post(
      '/users/:userId/promotion',
      {
        schema: {
          operationId: 'promoteUser',
          summary: 'Give an existing account the admin role (audited with its reason)',
          description:
            'The user is rotated with it: tokens issued before the promotion are refused, and admin ' +
            'power comes with the next login. Promoting an admin changes nothing.',
          params: UserIdParams,
          body: PromotionBody,
          response: { 200: UserSchema, ...problemResponses(404, 422) },
        },
      },
      async (request) => {
        const promoted = unwrap(
          await services.promoteUser.handle(
            PromoteUser({ userId: request.params.userId, ...actorAndReason(request) }),
          ),
        );
        const user = unwrap(await services.getUser.execute(promoted.userId));
        return withIsoDates(user);
      },
    );
  };
