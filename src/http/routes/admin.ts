import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from 'fastify';
import type { HttpDeps } from '../http-deps.js';
import type { Guards } from '../route-kit.js';
import { problemResponse } from '../schemas.js';
import { adminAuditRoutes } from './admin-audit.js';
import { adminRotationRoutes } from './admin-rotations.js';
import { adminSecurityConfigRoutes } from './admin-security-config.js';
import { adminServiceClientRoutes } from './admin-service-clients.js';
import { adminSessionRoutes } from './admin-sessions.js';
import { adminSigningKeyRoutes } from './admin-signing-keys.js';
import { adminUserRoutes } from './admin-users.js';
import { adminWebhookRoutes } from './admin-webhooks.js';

interface RouteSchema {
  readonly hide?: boolean;
  readonly tags?: readonly string[];
  readonly response?: Record<string | number, unknown>;
}

/** Documents what the scope's hook answers: the admin scheme, and 401 and 403 as problems. */
function documentAdminRoute(route: RouteOptions): void {
  const schema = route.schema as RouteSchema | undefined;
  if (schema === undefined || schema.hide === true) return;
  const response: Record<string | number, unknown> = { ...schema.response };
  response[401] ??= problemResponse(401);
  response[403] ??= problemResponse(403);
  route.schema = { tags: ['admin'], ...route.schema, security: [{ admin: [] }], response };
}

/**
 * The admin API, mounted at `/admin`: one encapsulated scope whose `onRequest` hook
 * authenticates the bearer token and requires the admin role before anything else runs
 * (body parsing and validation included), so no route inside can forget the check and a
 * caller without the role learns nothing about the input the route expects.
 */
export const adminRoutes =
  (
    deps: Pick<HttpDeps, 'services' | 'webhooks' | 'webhookReceivers'>,
    guards: Guards,
  ): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.addHook('onRoute', documentAdminRoute);
    app.addHook('onRequest', guards.requireAdmin);
    const { services } = deps;
    await app.register(adminRotationRoutes(services));
    await app.register(adminSecurityConfigRoutes(services));
    await app.register(adminAuditRoutes(services));
    await app.register(adminUserRoutes(services));
    await app.register(adminSessionRoutes(services));
    await app.register(adminSigningKeyRoutes(services));
    await app.register(adminServiceClientRoutes(services));
    if (deps.webhooks !== undefined)
      await app.register(adminWebhookRoutes(deps.webhooks, deps.webhookReceivers ?? 0));
  };
