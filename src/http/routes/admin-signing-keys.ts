import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { RetireSigningKey } from '../../application/commands/retire-signing-key/command.js';
import { RotateSigningKey } from '../../application/commands/rotate-signing-key/command.js';
import type { Services } from '../../application/services.js';
import { withIsoDates } from '../iso-dates.js';
import { actorAndReason, emptyBodyAsObject, iso, isoOrNull, unwrap } from '../route-kit.js';
import {
  KidParams,
  problemResponses,
  SigningKeyRetirementBody,
  SigningKeyRetirementResultSchema,
  SigningKeyRotationBody,
  SigningKeyRotationResultSchema,
  SigningKeySchema,
} from '../schemas.js';

export const SigningKeyListSchema = Type.Object({ items: Type.Array(SigningKeySchema) });

/** Signing keys: list (never a private part), rotate, retire. Admin only. */
export const adminSigningKeyRoutes =
  (services: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    // Every body field of these two routes is optional: no body at all reads as {}.
    const optionalBody = { preValidation: emptyBodyAsObject };

    app.get(
      '/signing-keys',
      {
        schema: {
          operationId: 'listSigningKeys',
          summary: 'Signing keys, newest first: the active one, those still verifying, retired ones',
          response: {
            200: SigningKeyListSchema,
          },
        },
      },
      async () => ({
        items: unwrap(await services.listSigningKeys.execute()).map((key) => ({
          kid: key.kid,
          algorithm: key.algorithm,
          status: key.status,
          createdAt: iso(key.createdAt),
          deactivatedAt: isoOrNull(key.deactivatedAt),
          retiredAt: isoOrNull(key.retiredAt),
          verifiesUntil: isoOrNull(key.verifiesUntil),
        })),
      }),
    );

    app.post(
      '/signing-keys/rotations',
      {
        ...optionalBody,
        schema: {
          operationId: 'rotateSigningKey',
          summary: 'New active signing key; the previous one verifies until its tokens have expired',
          body: SigningKeyRotationBody,
          response: { 201: SigningKeyRotationResultSchema, ...problemResponses(409, 422) },
        },
      },
      async (request, reply) => {
        const result = unwrap(
          await services.rotateSigningKey.handle(RotateSigningKey(actorAndReason(request))),
        );
        return reply.code(201).send(withIsoDates(result));
      },
    );

    app.post(
      '/signing-keys/:kid/retirement',
      {
        ...optionalBody,
        schema: {
          operationId: 'retireSigningKey',
          summary: 'Retire a signing key at once: tokens it signed are refused from now on',
          description:
            'The active key is refused (409 signing_key_active) unless `replace: true` makes a new one in the same transaction.',
          params: KidParams,
          body: SigningKeyRetirementBody,
          response: { 200: SigningKeyRetirementResultSchema, ...problemResponses(404, 409, 422) },
        },
      },
      async (request) => {
        const result = unwrap(
          await services.retireSigningKey.handle(
            RetireSigningKey({
              kid: request.params.kid,
              ...actorAndReason(request),
              replace: request.body.replace,
            }),
          ),
        );
        return withIsoDates(result);
      },
    );
  };
