import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeProtectedHeader } from 'jose';
import {
  ForgedTokenSuspected,
  type Principal,
} from '../application/queries/authenticate-access-token/query.js';
import type { Services } from '../application/services.js';
import { TokenwardenError } from '../domain/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/;

/** The principal of an authenticated request (only valid after `requireAuth` ran). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new TokenwardenError('unauthorized', 'Authentication required');
  return request.principal;
}

/** preHandlers that check the bearer token, and the admin role on top of it. */
export function authGuards(services: Services) {
  async function requireAuth(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const header = request.headers.authorization;
    if (header === undefined) throw new TokenwardenError('unauthorized', 'A bearer access token is required');
    const match = BEARER.exec(header);
    if (match === null)
      throw new TokenwardenError('unauthorized', 'The Authorization header must be "Bearer <token>"');
    const token = match[1] as string;
    const result = await services.authenticateAccessToken.execute(token);
    if (!result.ok) {
      if (result.error instanceof ForgedTokenSuspected) {
        const { reason, sub, jti } = result.error;
        // It verified, so the header decodes; kid, sub and jti name it without repeating it.
        request.log.warn(
          { kid: decodeProtectedHeader(token).kid, sub, jti, reason },
          'refused an access token signed with our key that the issuer never produces: likely forged',
        );
      }
      throw result.error;
    }
    request.principal = result.value;
  }

  async function requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await requireAuth(request, reply);
    if (principalOf(request).role !== 'admin') {
      throw new TokenwardenError('forbidden', 'This action needs the admin role');
    }
  }

  return { requireAuth, requireAdmin };
}
