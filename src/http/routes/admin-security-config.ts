import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { UpdateSecurityConfig } from '../../application/commands/update-security-config/command.js';
import type { Services } from '../../application/services.js';
import { MAX_GRACE_PERIOD_SECONDS, type SecurityConfig } from '../../domain/versions.js';
import { principalOf } from '../auth.js';
import { type Guards, iso, isoOrNull, unwrap } from '../route-kit.js';
import { DateTime, NullableDateTime, problemResponses } from '../schemas.js';

const SecurityConfigPatch = Type.Object(
  { gracePeriodSeconds: Type.Integer({ minimum: 0, maximum: MAX_GRACE_PERIOD_SECONDS }) },
  { additionalProperties: false },
);

const SecurityConfigSchema = Type.Object({
  globalMinTokenVersion: Type.Integer(),
  gracePeriodSeconds: Type.Integer(),
  lastRotationAt: NullableDateTime,
  lastRotationReason: Type.Union([Type.String(), Type.Null()]),
  graceUntil: NullableDateTime,
  updatedAt: DateTime,
});

const configView = (c: SecurityConfig) => ({
  globalMinTokenVersion: c.globalMinTokenVersion,
  gracePeriodSeconds: c.gracePeriodSeconds,
  lastRotationAt: isoOrNull(c.lastRotationAt),
  lastRotationReason: c.lastRotationReason,
  graceUntil: isoOrNull(c.graceUntil),
  updatedAt: iso(c.updatedAt),
});

/** The security config: current versions, and the grace period of future global rotations. Admin only. */
export const adminSecurityConfigRoutes =
  (services: Services, guards: Guards): FastifyPluginAsyncTypebox =>
  async (app) => {
    const admin = { preHandler: guards.requireAdmin };
    const security = [{ admin: [] }];

    app.get(
      '/admin/security/config',
      {
        ...admin,
        schema: {
          operationId: 'getSecurityConfig',
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
          operationId: 'updateSecurityConfig',
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
  };
