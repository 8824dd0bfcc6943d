/**
 * Clocks of the instances that issued tokens may run a little ahead of this one: the
 * window reaches this much further back than one access-token TTL.
 */
const CLOCK_SKEW_SECONDS = 60;

/**
 * The oldest instant the feed answers for: one access-token TTL (plus clock skew) back.
 * Every token an older change concerns has expired, so the feed leaves such rows out,
 * and the pruner may delete them without changing any answer.
 *
 * @example
 * revocationWindowStart(new Date('2026-01-01T00:16:00Z'), 900); // 2026-01-01T00:00:00Z
 */
export function revocationWindowStart(now: Date, accessTokenTtlSeconds: number): Date {
  return new Date(now.getTime() - (accessTokenTtlSeconds + CLOCK_SKEW_SECONDS) * 1000);
}
