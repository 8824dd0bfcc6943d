import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TriggerGlobalTokenRotation } from '../../application/commands/trigger-global-token-rotation/command.js';
import { TriggerUserTokenRotation } from '../../application/commands/trigger-user-token-rotation/command.js';
import type { Services } from '../../application/services.js';
import { MAX_GRACE_PERIOD_SECONDS } from '../../domain/versions.js';
import { principalOf } from '../auth.js';
import { withIsoDates } from '../iso-dates.js';
import { unwrap } from '../route-kit.js';
import {
  DateTime,
  problemResponses,
  Reason,
  UserIdParams,
  UserRotationResultSchema,
  Uuid,
} from '../schemas.js';

const GlobalRotationBody = Type.Object(
  {
    reason: Reason,
    gracePeriodSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_GRACE_PERIOD_SECONDS })),
    dryRun: Type.Optional(Type.Boolean()),
    rotateSigningKey: Type.Optional(
      Type.Boolean({
        description:
          'Also retire the signing key in the same transaction and make a new one: every access token dies at once, grace or not',
      }),
    ),
  },
  { additionalProperties: false },
);

const UserRotationBody = Type.Object(
  { reason: Reason, dryRun: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

export const GlobalRotationResultSchema = Type.Object({
  previousVersion: Type.Integer(),
  newVersion: Type.Integer(),
  gracePeriodSeconds: Type.Integer(),
  graceUntil: DateTime,
  rotatedAt: DateTime,
  retiredSigningKeyId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  newSigningKeyId: Type.Optional(Type.String()),
});

export const GlobalRotationDryRunSchema = Type.Object({
  dryRun: Type.Literal(true),
  currentVersion: Type.Integer(),
  newVersion: Type.Integer(),
  gracePeriodSeconds: Type.Integer(),
  activeSessions: Type.Integer(),
  activeRefreshTokens: Type.Integer(),
  retiredSigningKeyId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});

export const UserRotationDryRunSchema = Type.Object({
  dryRun: Type.Literal(true),
  userId: Uuid,
  currentVersion: Type.Integer(),
  newVersion: Type.Integer(),
  activeSessions: Type.Integer(),
  activeRefreshTokens: Type.Integer(),
});

/** Rotations: every token issued before now (global) or one user's tokens stop working. Admin only. */
export const adminRotationRoutes =
  (services: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/security/rotations',
      {
        schema: {
          operationId: 'triggerGlobalRotation',
          summary: 'Global rotation: every refresh and access token issued before now stops working',
          description: 'With `dryRun: true` nothing changes and the answer counts what would stop working.',
          body: GlobalRotationBody,
          response: {
            200: GlobalRotationDryRunSchema,
            201: GlobalRotationResultSchema,
            ...problemResponses(422),
          },
        },
      },
      async (request, reply) => {
        const { reason, gracePeriodSeconds, rotateSigningKey } = request.body;
        if (request.body.dryRun === true) {
          const preview = await services.previewGlobalRotation.execute({
            reason,
            gracePeriodSeconds,
            rotateSigningKey,
          });
          return reply.code(200).send(unwrap(preview));
        }
        const result = unwrap(
          await services.triggerGlobalTokenRotation.handle(
            TriggerGlobalTokenRotation({
              triggeredBy: principalOf(request).userId,
              reason,
              gracePeriodSeconds,
              rotateSigningKey,
            }),
          ),
        );
        return reply.code(201).send(withIsoDates(result));
      },
    );

    app.post(
      '/users/:userId/rotations',
      {
        schema: {
          operationId: 'triggerUserRotation',
          summary: 'User rotation: every token of one user stops working at once (no grace)',
          params: UserIdParams,
          body: UserRotationBody,
          response: {
            200: UserRotationDryRunSchema,
            201: UserRotationResultSchema,
            ...problemResponses(404, 422),
          },
        },
      },
      async (request, reply) => {
        const { userId } = request.params;
        const { reason } = request.body;
        if (request.body.dryRun === true) {
          return reply.code(200).send(unwrap(await services.previewUserRotation.execute({ userId, reason })));
        }
        const result = unwrap(
          await services.triggerUserTokenRotation.handle(
            TriggerUserTokenRotation({ userId, triggeredBy: principalOf(request).userId, reason }),
          ),
        );
        return reply.code(201).send(withIsoDates(result));
      },
    );
  };
