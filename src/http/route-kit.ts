import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Result } from '../domain/result.js';
import type { authGuards } from './auth.js';
import type { LoginThrottle } from './login-throttle.js';

export type Guards = ReturnType<typeof authGuards>;

export interface RateLimits {
  readonly credentials: { readonly max: number; readonly timeWindow: string };
  readonly refresh: { readonly max: number; readonly timeWindow: string };
  /** Login failures per account, on top of the per-IP limits. */
  readonly account: LoginThrottle;
}

/** The value of a Result, or throws its error for the error handler to turn into a problem. */
export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw result.error;
  return result.value;
}

export const iso = (date: Date): string => date.toISOString();
export const isoOrNull = (date: Date | null): string | null => (date === null ? null : date.toISOString());

/** Request facts stored with a session, bounded so headers cannot bloat rows. */
export function clientFacts(request: FastifyRequest): { userAgent: string | null; ip: string | null } {
  const ua = request.headers['user-agent'];
  return { userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null, ip: request.ip ?? null };
}

/** Responses carrying tokens must never be cached (RFC 6749 §5.1). */
export function noStore(reply: FastifyReply): void {
  reply.header('cache-control', 'no-store');
  reply.header('pragma', 'no-cache');
}

/**
 * For routes whose body fields are all optional: a request with no body at all
 * (no content type) is read as `{}` instead of failing validation.
 */
export async function emptyBodyAsObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined) request.body = {};
}
