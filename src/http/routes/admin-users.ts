import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PromoteUser } from '../../application/commands/promote-user/command.js';
import type { Services } from '../../application/services.js';
import { withIsoDates } from '../iso-dates.js';
import { actorAndReason, unwrap } from '../route-kit.js';
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

/** Accounts: list them, and promote one to admin. Admin only. */
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
