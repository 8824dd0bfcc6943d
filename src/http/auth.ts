import { parseCompactJws, unverifiedClaims } from '@tokenwarden/jws';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  ForgedTokenSuspected,
  type Principal,
} from '../application/queries/authenticate-access-token/query.js';
import type { ServiceClientPrincipal } from '../application/queries/authenticate-service-client/query.js';
import type { Services } from '../application/services.js';
import { TokenwardenError } from '../domain/errors.js';
import type { Role } from '../domain/user.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /**
     * The service client that authenticated this request (set by the service-client guards),
     * with its client-credentials token's `exp` (epoch seconds) when it came with one.
     */
    serviceClient: (ServiceClientPrincipal & { readonly tokenExp?: number }) | null;
  }
}

// RFC 9110 §11.1: the scheme name is case-insensitive (`bearer`, `BASIC` are the same schemes).
const BEARER = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/i;
const BASIC = /^Basic ([A-Za-z0-9+/]{1,1024}={0,2})$/i;
export const BASIC_CHALLENGE = 'Basic realm="tokenwarden"';
/** RFC 6750 §3.1: a request with no credentials gets the challenge alone, no error code. */
const BEARER_CHALLENGE = 'Bearer realm="tokenwarden"';

/**
 * The client id and secret of an `Authorization: Basic` header, or null when it is not
 * one. RFC 6749 §2.3.1 (client_secret_basic): both are form-urlencoded before base64,
 * so `+` is a space and `%XX` a byte once the base64 is undone.
 */
export function basicCredentials(
  header: string,
): { readonly clientId: string; readonly secret: string } | null {
  const match = BASIC.exec(header);
  if (match === null) return null;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const formDecode = (part: string) => decodeURIComponent(part.replaceAll('+', ' '));
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    // A malformed %-escape: not credentials we could have issued.
    return null;
  }
}

/**
 * The bearer token of an `Authorization` header when it looks like a client-credentials
 * token (`sub` = `client_id`, no session), else null: only to pick which check runs, from
 * the claims as @tokenwarden/jws parses them (unverified). Both checks verify the signature
 * themselves.
 */
function clientTokenIn(header: string | undefined): string | null {
  const bearer = header === undefined ? null : BEARER.exec(header);
  if (bearer === null) return null;
  const token = bearer[1] as string;
  const jws = parseCompactJws(token);
  const claims = jws === undefined ? undefined : unverifiedClaims(jws);
  const isClientToken =
    claims !== undefined &&
    claims.sid === undefined &&
    typeof claims.client_id === 'string' &&
    claims.sub === claims.client_id;
  return isClientToken ? token : null;
}

/** The principal of an authenticated request (only valid after `requireAuth` ran). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new TokenwardenError('unauthorized', 'Authentication required');
  return request.principal;
}

/**
 * After `requireAuth`: fails with 403 `forbidden` unless the token's role is `role`, with
 * RFC 6750 §3.1's `insufficient_scope` challenge (a valid token without the privilege the
 * resource needs).
 */
export function requireRole(request: FastifyRequest, reply: FastifyReply, role: Role): void {
  if (principalOf(request).role === role) return;
  reply.header(
    'www-authenticate',
    `${BEARER_CHALLENGE}, error="insufficient_scope", error_description="the ${role} role is required"`,
  );
  throw new TokenwardenError('forbidden', `This action needs the ${role} role`);
}

/** preHandlers that check the bearer token, and the admin role on top of it. */
export function authGuards(services: Services) {
  async function requireAuth(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const header = request.headers.authorization;
    if (header === undefined) {
      reply.header('www-authenticate', BEARER_CHALLENGE);
      throw new TokenwardenError('unauthorized', 'A bearer access token is required');
    }
    const match = BEARER.exec(header);
    if (match === null) {
      // Another scheme (Basic, …) is "no bearer credentials" to RFC 6750; a malformed
      // Bearer value is an invalid token (the problem writer's default challenge).
      if (!/^Bearer(\s|$)/i.test(header)) reply.header('www-authenticate', BEARER_CHALLENGE);
      throw new TokenwardenError('unauthorized', 'The Authorization header must be "Bearer <token>"');
    }
    const token = match[1] as string;
    const result = await services.authenticateAccessToken.execute(token);
    if (!result.ok) {
      if (result.error instanceof ForgedTokenSuspected) {
        const { reason, sub, jti } = result.error;
        // It verified, so it parses; kid, sub and jti name it without repeating it.
        request.log.warn(
          { kid: parseCompactJws(token)?.kid, sub, jti, reason },
          'refused an access token signed with our key that the issuer never produces: likely forged',
        );
      }
      throw result.error;
    }
    request.principal = result.value;
  }

  async function requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await requireAuth(request, reply);
    requireRole(request, reply, 'admin');
  }

  /**
   * A service client's `Authorization: Basic base64(clientId:secret)` (RFC 6749
   * client_secret_basic), or `Bearer <token>` with a token from the client_credentials
   * grant. Sets `request.serviceClient`; a Basic failure is 401 `unauthorized` with
   * `WWW-Authenticate: Basic realm="tokenwarden"`, the same for an unknown id, a wrong
   * secret and a revoked client; a bad client token is 401 with `Bearer error="invalid_token"`.
   */
  async function requireServiceClient(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    return serviceClient(request, reply, clientTokenIn(request.headers.authorization));
  }

  /** {@link requireServiceClient} once the header's client token, if any, is known. */
  async function serviceClient(
    request: FastifyRequest,
    reply: FastifyReply,
    clientToken: string | null,
  ): Promise<void> {
    const header = request.headers.authorization;
    // Any other bearer (a user's token, junk) is not a service credential: the Basic challenge below.
    if (clientToken !== null) {
      const result = await services.authenticateClientToken.execute(clientToken);
      if (!result.ok) throw result.error;
      request.serviceClient = {
        clientId: result.value.clientId,
        name: result.value.name,
        tokenExp: result.value.claims.exp,
      };
      return;
    }
    const credentials = header === undefined ? null : basicCredentials(header);
    if (credentials === null) {
      reply.header('www-authenticate', BASIC_CHALLENGE);
      throw new TokenwardenError(
        'unauthorized',
        'Service client credentials are required: Authorization: Basic base64(clientId:secret)',
      );
    }
    const result = await services.authenticateServiceClient.execute(credentials.clientId, credentials.secret);
    if (!result.ok) {
      reply.header('www-authenticate', BASIC_CHALLENGE);
      throw result.error;
    }
    request.serviceClient = result.value;
  }

  /**
   * A service client (Basic) or an admin (Bearer access token): for what services read and
   * admins may inspect (the revocation feed). With neither, 401 offers both challenges.
   */
  async function requireServiceClientOrAdmin(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const header = request.headers.authorization ?? '';
    if (/^Basic /i.test(header)) return serviceClient(request, reply, null);
    if (/^Bearer /i.test(header)) {
      const clientToken = clientTokenIn(header);
      return clientToken !== null ? serviceClient(request, reply, clientToken) : requireAdmin(request, reply);
    }
    reply.header('www-authenticate', [BASIC_CHALLENGE, BEARER_CHALLENGE]);
    throw new TokenwardenError(
      'unauthorized',
      'Service client credentials (Basic) or an admin bearer access token are required',
    );
  }

  return { requireAuth, requireAdmin, requireServiceClient, requireServiceClientOrAdmin };
}
