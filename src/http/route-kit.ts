import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TokenwardenError } from '../domain/errors.js';
import { err, ok, type Result } from '../domain/result.js';
import type { authGuards } from './auth.js';
import type { LoginThrottle } from './login-throttle.js';

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
 * A password check behind the per-account throttle (logins and password changes): it
 * fails with 429 (and sets Retry-After) without running while `ip` is locked out of
 * `email`'s account, and a wrong password counts one failure against it.
 */
export async function withAccountThrottle<T>(
  throttle: LoginThrottle,
  reply: FastifyReply,
  account: { readonly email: string; readonly ip: string },
  check: () => Promise<Result<T>>,
): Promise<Result<T>> {
  const locked = await refuseWhileAccountLocked(throttle, reply, account.email, account.ip);
  if (!locked.ok) return locked;
  const outcome = await check();
  if (!outcome.ok && outcome.error.code === 'invalid_credentials') {
    await throttle.recordFailure(account.email, account.ip);
  }
  return outcome;
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

/** `T` as an answer sends it: each `Date` field an ISO 8601 string (`Date | null`: string or null). */
type WithIsoDates<T> = {
  [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K];
};

/**
 * A view as an answer sends it: its `Date` fields as ISO 8601 strings, every other field
 * as it is (the response schema then drops what it does not list).
 */
export function withIsoDates<T extends object>(view: T): WithIsoDates<T> {
  const json: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(view)) json[key] = value instanceof Date ? iso(value) : value;
  return json as WithIsoDates<T>;
}

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
