import type { FastifyReply } from 'fastify';
import { type ErrorCode, ServiceUnavailableError, type TokenwardenError } from '../domain/errors.js';
import { PROBLEM_MEDIA_TYPE } from './schemas.js';

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

export function sendProblem(reply: FastifyReply, error: TokenwardenError): FastifyReply {
  const problem = toProblem(error, reply.request.url.split('?')[0]);
  if (
    (error.code === 'unauthorized' || error.code.startsWith('token_')) &&
    !reply.hasHeader('www-authenticate')
  ) {
    // RFC 6750: tell bearer clients why, without echoing the token. A guard that set its
    // own challenge (Basic, for service clients) keeps it.
    reply.header('www-authenticate', `Bearer error="invalid_token", error_description="${error.code}"`);
  }
  if (error instanceof ServiceUnavailableError) reply.header('retry-after', String(error.retryAfterSeconds));
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}
