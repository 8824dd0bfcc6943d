import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PromoteUser } from '../../application/commands/promote-user/command.js';
import { TriggerGlobalTokenRotation } from '../../application/commands/trigger-global-token-rotation/command.js';
import { TriggerUserTokenRotation } from '../../application/commands/trigger-user-token-rotation/command.js';
import { UpdateSecurityConfig } from '../../application/commands/update-security-config/command.js';
import type { Services } from '../../application/services.js';
import type { SecurityConfig } from '../../domain/versions.js';
import { principalOf } from '../auth.js';
import { type Guards, iso, isoOrNull, unwrap } from '../route-kit.js';
import {
  AuditEventSchema,
  AuditQuery,
  GlobalRotationBody,
  GlobalRotationDryRunSchema,
  GlobalRotationResultSchema,
  PromotionBody,
  pageOf,
  problemResponses,
  SecurityConfigPatch,
  SecurityConfigSchema,
  SessionSchema,
  SessionsQuery,
  UserIdParams,
  UserRotationBody,
  UserRotationDryRunSchema,
  UserRotationResultSchema,
  UserSchema,
  UsersQuery,
} from '../schemas.js';

const configView = (c: SecurityConfig) => ({
  globalMinTokenVersion: c.globalMinTokenVersion,
  gracePeriodSeconds: c.gracePeriodSeconds,
  lastRotationAt: isoOrNull(c.lastRotationAt),
  lastRotationReason: c.lastRotationReason,
  graceUntil: isoOrNull(c.graceUntil),
  updatedAt: iso(c.updatedAt),
});

export const adminRoutes =
  (services: Services, guards: Guards): FastifyPluginAsyncTypebox =>
  async (app) => {
    const admin = { preHandler: guards.requireAdmin };
    const security = [{ bearer: [] }];

    app.post(
      '/admin/security/rotations',
      {
        ...admin,
        schema: {
          tags: ['admin'],
          summary: 'Global rotation: every refresh and access token issued before now stops working',
          description: 'With `dryRun: true` nothing changes and the answer counts what would stop working.',
          security,
          body: GlobalRotationBody,
          response: {
            200: GlobalRotationDryRunSchema,
            201: GlobalRotationResultSchema,
            ...problemResponses(401, 403, 422),
          },
        },
      },
      async (request, reply) => {
        const result = unwrap(
          await services.triggerGlobalTokenRotation.handle(
            TriggerGlobalTokenRotation({
              triggeredBy: principalOf(request).userId,
              reason: request.body.reason,
              gracePeriodSeconds: request.body.gracePeriodSeconds,
              dryRun: request.body.dryRun,
              rotateSigningKey: request.body.rotateSigningKey,
            }),
          ),
        );
        if ('dryRun' in result) return reply.code(200).send(result);
        return reply
          .code(201)
          .send({ ...result, graceUntil: iso(result.graceUntil), rotatedAt: iso(result.rotatedAt) });
      },
    );

    app.post(
      '/admin/users/:userId/rotations',
      {
        ...admin,
        schema: {
          tags: ['admin'],
          summary: 'User rotation: every token of one user stops working at once (no grace)',
          security,
          params: UserIdParams,
          body: UserRotationBody,
          response: {
            200: UserRotationDryRunSchema,
            201: UserRotationResultSchema,
            ...problemResponses(401, 403, 404, 422),
          },
        },
      },
      async (request, reply) => {
        const result = unwrap(
          await services.triggerUserTokenRotation.handle(
            TriggerUserTokenRotation({
              userId: request.params.userId,
              triggeredBy: principalOf(request).userId,
              reason: request.body.reason,
              dryRun: request.body.dryRun,
            }),
          ),
        );
        if ('dryRun' in result) return reply.code(200).send(result);
        return reply.code(201).send({ ...result, rotatedAt: iso(result.rotatedAt) });
      },
    );

    app.post(
      '/admin/users/:userId/promotion',
      {
        ...admin,
        schema: {
          tags: ['admin'],
          summary: 'Give an existing account the admin role (audited with its reason)',
          description:
            'The user is rotated with it: tokens issued before the promotion are refused, and admin ' +
            'power comes with the next login. Promoting an admin changes nothing.',
          security,
          params: UserIdParams,
          body: PromotionBody,
          response: { 200: UserSchema, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => {
        const promoted = unwrap(
          await services.promoteUser.handle(
            PromoteUser({
              userId: request.params.userId,
              actor: principalOf(request).userId,
              reason: request.body.reason,
            }),
          ),
        );
        const user = unwrap(await services.getUser.execute(promoted.userId));
        return { ...user, disabledAt: isoOrNull(user.disabledAt), createdAt: iso(user.createdAt) };
      },
    );

    app.get(
      '/admin/security/config',
      {
        ...admin,
        schema: {
          tags: ['admin'],
          summary: 'Current versions and grace period',
          security,
          response: { 200: SecurityConfigSchema, ...problemResponses(401, 403) },
        },
      },
      async () => configView(unwrap(await services.getSecurityConfig.execute())),
    );

    app.patch(
      '/admin/security/config',
      {
        ...admin,
        schema: {
          tags: ['admin'],
          summary: 'Change the default grace period of future global rotations',
          security,
          body: SecurityConfigPatch,
          response: { 200: SecurityConfigSchema, ...problemResponses(401, 403, 422) },
        },
      },
      async (request) =>
        configView(
          unwrap(
            await services.updateSecurityConfig.handle(
              UpdateSecurityConfig({
                gracePeriodSeconds: request.body.gracePeriodSeconds,
                actor: principalOf(request).userId,
              }),
            ),
          ),
        ),
    );

    app.get(
      '/admin/audit',
      {
        ...admin,
        schema: {
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

    app.get(
      '/admin/users',
      {
        ...admin,
        schema: {
          tags: ['admin'],
          summary: 'Users, optionally filtered by email',
          security,
          querystring: UsersQuery,
          response: { 200: pageOf(UserSchema), ...problemResponses(401, 403, 422) },
        },
      },
      async (request) => {
        const page = unwrap(await services.listUsers.execute(request.query));
        return {
          items: page.items.map((u) => ({
            ...u,
            disabledAt: isoOrNull(u.disabledAt),
            createdAt: iso(u.createdAt),
          })),
          nextCursor: page.nextCursor,
        };
      },
    );

    app.get(
      '/admin/users/:userId/sessions',
      {
        ...admin,
        schema: {
          tags: ['admin'],
          summary: "A user's active sessions, newest first",
          security,
          params: UserIdParams,
          querystring: SessionsQuery,
          response: { 200: pageOf(SessionSchema), ...problemResponses(401, 403, 404, 422) },
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
        return {
          items: page.items.map((s) => ({
            ...s,
            createdAt: iso(s.createdAt),
            lastUsedAt: iso(s.lastUsedAt),
          })),
          nextCursor: page.nextCursor,
        };
      },
    );
  };
