import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../../application/services.js';
import { type Guards, iso, unwrap } from '../route-kit.js';
import { Cursor, DateTime, Limit, pageOf, problemResponses, Uuid } from '../schemas.js';

const AuditQuery = Type.Object(
  {
    action: Type.Optional(Type.String({ maxLength: 100 })),
    userId: Type.Optional(Uuid),
    since: Type.Optional(DateTime),
    limit: Limit,
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

const AuditEventSchema = Type.Object({
  id: Type.String(),
  occurredAt: DateTime,
  actor: Type.String(),
  action: Type.String(),
  userId: Type.Union([Uuid, Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
});

/** The audit log, newest first. Admin only. */
export const adminAuditRoutes =
  (services: Services, guards: Guards): FastifyPluginAsyncTypebox =>
  async (app) => {
    const admin = { preHandler: guards.requireAdmin };
    const security = [{ admin: [] }];

    app.get(
      '/admin/audit',
      {
        ...admin,
        schema: {
          operationId: 'listAuditEvents',
          tags: ['admin'],
          summary: 'The audit log, newest first',
          security,
          querystring: AuditQuery,
          response: { 200: pageOf(AuditEventSchema), ...problemResponses(401, 403, 422) },
        },
      },
      async (request) => {
        const q = request.query;
        const page = unwrap(
          await services.listAuditEvents.execute({
            action: q.action,
            userId: q.userId,
            since: q.since === undefined ? undefined : new Date(q.since),
            limit: q.limit,
            cursor: q.cursor,
          }),
        );
        return {
          items: page.items.map((e) => ({ ...e, occurredAt: iso(e.occurredAt), details: { ...e.details } })),
          nextCursor: page.nextCursor,
        };
      },
    );
  };
