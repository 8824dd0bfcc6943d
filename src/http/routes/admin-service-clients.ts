import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { CreateServiceClient } from '../../application/commands/create-service-client/command.js';
import { RevokeServiceClient } from '../../application/commands/revoke-service-client/command.js';
import type { Services } from '../../application/services.js';
import { SERVICE_CLIENT_NAME_MAX_LENGTH } from '../../domain/service-client.js';
import { visibleTextPattern } from '../../domain/text.js';
import { principalOf } from '../auth.js';
import { withIsoDates } from '../iso-dates.js';
import { actorAndReason, emptyBodyAsObject, noStore, unwrap } from '../route-kit.js';
import {
  Cursor,
  DateTime,
  Limit,
  NullableDateTime,
  pageOf,
  problemResponses,
  Reason,
  Uuid,
  UuidParam,
} from '../schemas.js';

// The domain's rule as a pattern (trimmed, 1..100 visible characters); maxLength bounds what it reads.
const ServiceClientName = Type.String({
  maxLength: 1024,
  pattern: visibleTextPattern(SERVICE_CLIENT_NAME_MAX_LENGTH),
  description: `A label for people; trimmed, 1 to ${SERVICE_CLIENT_NAME_MAX_LENGTH} characters, no control or format characters; need not be unique`,
});

const CreationBody = Type.Object({ name: ServiceClientName }, { additionalProperties: false });
const RevocationBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });
const ClientIdParams = Type.Object({ id: UuidParam });
const ListQuery = Type.Object(
  { limit: Limit, cursor: Type.Optional(Cursor) },
  { additionalProperties: false },
);

export const ServiceClientCreatedSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  secret: Type.String({ description: '`twc_…`: shown this once, stored only as its SHA-256' }),
  createdAt: DateTime,
});

export const ServiceClientSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  createdAt: DateTime,
  createdBy: Type.String(),
  revokedAt: NullableDateTime,
  revokedBy: Type.Union([Type.String(), Type.Null()]),
});

/** Service clients, the credentials services present to the revocation feed: create, list, revoke. Admin only. */
export const adminServiceClientRoutes =
  (services: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/service-clients',
      {
        schema: {
          operationId: 'createServiceClient',
          summary: 'Create a service client; its secret is in this answer and never again (audited)',
          description:
            'The service sends `Authorization: Basic base64(clientId:secret)` (RFC 6749 client_secret_basic). ' +
            'Only the SHA-256 of the secret is stored.',
          body: CreationBody,
          response: { 201: ServiceClientCreatedSchema, ...problemResponses(422) },
        },
      },
      async (request, reply) => {
        const created = unwrap(
          await services.createServiceClient.handle(
            CreateServiceClient({ name: request.body.name, actor: principalOf(request).userId }),
          ),
        );
        noStore(reply);
        reply.code(201);
        return withIsoDates(created);
      },
    );

    app.get(
      '/service-clients',
      {
        schema: {
          operationId: 'listServiceClients',
          summary: 'Service clients, oldest first, revoked ones included (never a secret)',
          querystring: ListQuery,
          response: { 200: pageOf(ServiceClientSchema), ...problemResponses(422) },
        },
      },
      async (request) => {
        const page = unwrap(await services.listServiceClients.execute(request.query));
        return { items: page.items.map(withIsoDates), nextCursor: page.nextCursor };
      },
    );

    app.post(
      '/service-clients/:id/revocation',
      {
        // The reason is optional: no body at all reads as {}.
        preValidation: emptyBodyAsObject,
        schema: {
          operationId: 'revokeServiceClient',
          summary: 'Revoke a service client: its secret stops working at once (audited; idempotent)',
          params: ClientIdParams,
          body: RevocationBody,
          response: { 200: ServiceClientSchema, ...problemResponses(404, 422) },
        },
      },
      async (request) => {
        const revoked = unwrap(
          await services.revokeServiceClient.handle(
            RevokeServiceClient({
              clientId: request.params.id,
              ...actorAndReason(request),
            }),
          ),
        );
        return withIsoDates(revoked.client);
      },
    );
  };
