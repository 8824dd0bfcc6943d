import type { FastifyReply } from 'fastify';
import {
  type ErrorCode,
  oauthForm,
  ServiceUnavailableError,
  type TokenwardenError,
} from '../domain/errors.js';
import { BASIC_CHALLENGE } from './auth.js';
import { noStore } from './route-kit.js';
import { PROBLEM_MEDIA_TYPE } from './schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * How the route's errors are written: problem+json (the default), RFC 6749 §5.2 JSON, or
     * `status`: the status and headers alone, no body (the forward-auth route: a gateway
     * passes on the status and the challenge, never the body).
     */
    readonly errorFormat?: 'problem' | 'oauth' | 'status';
    /** The RFC 6749 token endpoint: a refused refresh token there is `invalid_grant`. */
    readonly oauthGrant?: boolean;
  }
}

const PROBLEM_CONTENT_TYPE = `${PROBLEM_MEDIA_TYPE}; charset=utf-8`;

/** An RFC 9457 problem document with tokenwarden's `code` member. */
interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly instance?: string;
  readonly [extension: string]: unknown;
}

// A URN: stable and unique per code, without pretending to be a page that can be fetched.
const TYPE_BASE = 'urn:tokenwarden:problem:';

function toProblem(error: TokenwardenError, instance?: string): Problem {
  return {
    ...error.extensions,
    type: `${TYPE_BASE}${error.code.replaceAll('_', '-')}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(instance === undefined ? {} : { instance }),
  };
}

/**
 * Writes an expected failure in the form its route speaks (route config `errorFormat`):
 * problem+json, or RFC 6749 §5.2 JSON on the OAuth routes. Both carry `Retry-After` for a 503.
 *
 * @example
 * app.setErrorHandler((error, _request, reply) => sendError(reply, error));
 */
export function sendError(reply: FastifyReply, error: TokenwardenError): FastifyReply {
  if (error instanceof ServiceUnavailableError) reply.header('retry-after', String(error.retryAfterSeconds));
  const config = reply.request.routeOptions.config;
  if (config?.errorFormat === 'status') {
    bearerChallenge(reply, error);
    return reply.code(error.status).send();
  }
  return config?.errorFormat === 'oauth'
    ? sendOAuthError(reply, error, config.oauthGrant === true)
    : sendProblem(reply, error);
}

/**
 * RFC 6750 §3.1: tell bearer clients why a credential was refused, without echoing the
 * token. A guard that set its own challenge (Basic for service clients, the bare challenge
 * when no credentials came) keeps it.
 */
function bearerChallenge(reply: FastifyReply, error: TokenwardenError): void {
  if (
    (error.code === 'unauthorized' || error.code.startsWith('token_')) &&
    !reply.hasHeader('www-authenticate')
  ) {
    reply.header('www-authenticate', `Bearer error="invalid_token", error_description="${error.code}"`);
  }
}

/**
 * An RFC 9457 problem; RFC 6750's `WWW-Authenticate` for a refused bearer credential.
 *
 * @example
 * return sendProblem(reply, new TokenwardenError('not_found', 'No route'));
 */
export function sendProblem(reply: FastifyReply, error: TokenwardenError): FastifyReply {
  const problem = toProblem(error, reply.request.url.split('?')[0]);
  bearerChallenge(reply, error);
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/** RFC 6749 §5.2: JSON, never cached; the description only in the characters §5.2 allows. */
function sendOAuthError(reply: FastifyReply, error: TokenwardenError, atGrant: boolean): FastifyReply {
  const form = oauthForm(error.code, atGrant);
  noStore(reply);
  if (form.status === 401 && !reply.hasHeader('www-authenticate')) {
    // §5.2: a failed client authentication names the scheme to use.
    reply.header(
      'www-authenticate',
      form.error === 'invalid_token' ? `Bearer realm="tokenwarden", error="invalid_token"` : BASIC_CHALLENGE,
    );
  }
  // A validation problem's description is its first failed field, never the whole list.
  const first = (error.extensions.errors as readonly { path: string; message: string }[] | undefined)?.[0];
  const description =
    first === undefined ? error.message : `${first.path.replace(/^\//, '')} ${first.message}`;
  const rejection = error.extensions.rejection;
  return reply
    .code(form.status)
    .type('application/json; charset=utf-8')
    .send({
      error: form.error,
      error_description: description
        .replace(/"/g, "'")
        .replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '?')
        .slice(0, 300),
      ...(form.withCode ? { code: error.code } : {}),
      ...(typeof rejection === 'string' ? { rejection } : {}),
    });
}
