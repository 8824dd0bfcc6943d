import type { SwaggerOptions } from '@fastify/swagger';
import type { RouteOptions } from 'fastify';
import { problemResponse } from './schemas.js';

/**
 * The document's frame: servers, the security schemes the routes name, and the shared
 * Problem schema under its own name (fastify-swagger numbers shared schemas `def-N`).
 */
export function openapiOptions(options: {
  readonly serverUrl: string;
  /** Whether /metrics asks for TOKENWARDEN_METRICS_TOKEN (its scheme is listed only then). */
  readonly metricsToken: boolean;
}): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'tokenwarden',
        description: 'Session and refresh-token service with O(1) breach rotation',
        version: '0.2.0',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: options.serverUrl }],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'An access token from POST /api/v1/sessions or POST /api/v1/tokens',
          },
          admin: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'An access token of a user with the admin role (403 `forbidden` for any other user)',
          },
          // RFC 6749 client_secret_basic: base64(urlencode(clientId) ":" urlencode(secret)).
          serviceClient: { type: 'http', scheme: 'basic', description: 'A service client id and secret' },
          ...(options.metricsToken
            ? { metricsToken: { type: 'http', scheme: 'bearer', description: 'TOKENWARDEN_METRICS_TOKEN' } }
            : {}),
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  };
}

/** Methods whose body fastify reads (its `bodywith` set): their routes can answer 400, 413 and 415. */
const BODY_METHODS = new Set(['DELETE', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'QUERY']);

interface RouteSchema {
  readonly hide?: boolean;
  readonly tags?: readonly string[];
  readonly response?: Record<string | number, unknown>;
}

/**
 * An `onRoute` hook that documents, on every documented route, the problems fastify and
 * the app's hooks answer before the handler runs, exactly where they can happen:
 *
 * - 400: a body that is not what its content type says (methods with a body), or a
 *   malformed percent-escape in a path parameter;
 * - 413 and 415: any body over the limit, or of a type no parser reads (methods with a body);
 * - 422: a string holding NUL or an unpaired surrogate anywhere in the query, the path or
 *   the body (validation.ts refuses it on every route), and schema failures.
 *
 * A route may already list one of them (with its own description); it keeps it. The OAuth
 * routes (tag `oauth`) are left alone.
 */
export function documentFrameworkProblems(route: RouteOptions): void {
  const schema = route.schema as RouteSchema | undefined;
  if (schema === undefined || schema.hide === true) return;
  // The OAuth scope answers every error, these included, as RFC 6749 §5.2 JSON, and its
  // routes document them so (routes/oauth.ts).
  if (schema.tags?.includes('oauth') === true) return;
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  // 503: every request is answered within the response deadline, and a dependency that is
  // down answers 503 with Retry-After rather than a 500.
  const statuses = [422, 503];
  if (methods.some((method) => BODY_METHODS.has(method))) statuses.push(400, 413, 415);
  else if (route.url.includes(':')) statuses.push(400);
  const response: Record<string | number, unknown> = { ...schema.response };
  for (const status of statuses) response[status] ??= problemResponse(status);
  route.schema = { ...route.schema, response };
}
