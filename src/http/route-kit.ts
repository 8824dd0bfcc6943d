import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TokenwardenError } from '../domain/errors.js';
import { err, ok, type Result } from '../domain/result.js';
import { type authGuards, principalOf } from './auth.js';
import type { LoginThrottle } from './login-throttle.js';
import { problemResponses } from './schemas.js';

export type Guards = ReturnType<typeof authGuards>;

/** An `onRequest` hook that answers 429 once the request's address spent its budget. */
export type RateLimitHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface RateLimits {
  /** One per-address budget shared by every route that takes a password (register, login, password change). */
  readonly credentials: RateLimitHook;
  readonly refresh: RateLimitHook;
  /** Password failures per account (logins and password changes), on top of the per-IP limits. */
  readonly account: LoginThrottle;
}

/**
 * Options of a route anyone may call, on a per-address budget (register, log in, refresh):
 * the budget's hook runs first, and the route is documented with no security and the 429
 * the budget answers.
 */
export function publicRoute<S extends { readonly response: Record<number, unknown> }>(
  budget: RateLimitHook,
  schema: S,
) {
  return {
    onRequest: budget,
    schema: { ...schema, security: [], response: { ...schema.response, ...problemResponses(429) } },
  };
}

/**
 * The tokens a password check issues (logins and password changes), behind the
 * per-account throttle: it fails with 429 (and sets Retry-After) without running while
 * `ip` is locked out of `email`'s account, and a wrong password counts one failure
 * against it. The answer carries tokens, so it is marked never to be cached.
 */
export async function tokensAfterPasswordCheck<T>(
  throttle: LoginThrottle,
  reply: FastifyReply,
  account: { readonly email: string; readonly ip: string },
  check: () => Promise<Result<T>>,
): Promise<T> {
  unwrap(await refuseWhileAccountLocked(throttle, reply, account.email, account.ip));
  const outcome = await check();
  if (!outcome.ok && outcome.error.code === 'invalid_credentials') {
    await throttle.recordFailure(account.email, account.ip);
  }
  const tokens = unwrap(outcome);
  noStore(reply);
  return tokens;
}

/** Who acted and why, as an audited admin command records them: the signed-in admin and the body's reason. */
export function actorAndReason<B extends { readonly reason?: string }>(
  request: FastifyRequest & { readonly body: B },
): { readonly actor: string; readonly reason: B['reason'] } {
  return { actor: principalOf(request).userId, reason: request.body.reason };
}

/** Fails with 429 (and sets Retry-After) while `ip` is locked out of `email`'s account. */
async function refuseWhileAccountLocked(
  throttle: LoginThrottle,
  reply: FastifyReply,
  email: string,
  ip: string,
): Promise<Result<void>> {
  const retryAfter = await throttle.retryAfter(email, ip);
  if (retryAfter === null) return ok(undefined);
  reply.header('retry-after', String(retryAfter));
  return err(
    new TokenwardenError(
      'rate_limited',
      `Too many failed password checks for this account; retry in ${retryAfter} s`,
      { retryAfterSeconds: retryAfter },
    ),
  );
}

/**
 * The value of a Result, or its error thrown to the error handler, which turns it into
 * a problem: the one place a route's expected failure leaves the route.
 */
export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw result.error;
  return result.value;
}

export const iso = (date: Date): string => date.toISOString();
export const isoOrNull = (date: Date | null): string | null => (date === null ? null : date.toISOString());

/**
 * Request facts stored with a session, bounded so headers cannot bloat rows. The ip is
 * an IP address or null: behind a proxy it comes from X-Forwarded-For, which may hold anything.
 */
export function clientFacts(request: FastifyRequest): { userAgent: string | null; ip: string | null } {
  const ua = request.headers['user-agent'];
  const ip = typeof request.ip === 'string' && isIP(request.ip) !== 0 ? request.ip : null;
  return { userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null, ip };
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
