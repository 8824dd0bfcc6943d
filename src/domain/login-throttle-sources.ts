import { createHash } from 'node:crypto';

/** Failing sources an account remembers exactly; past them, by bucket. */
export const MAX_SOURCES_PER_ACCOUNT = 1024;

/**
 * Buckets (bits) a full source set spills into: a failing source past the 1 024 remembered
 * exactly sets its bucket's bit, and a source whose bit is set counts as failed. So a
 * source is never forgotten (it gets at most one guess past the lock, as before the set
 * filled); another source sharing its bucket is locked with it, which for the owner takes
 * an attacker about 45 000 addresses per 50 % (8 KiB an account, only once 1 024 failed).
 */
export const OVERFLOW_BUCKETS = 65_536;

/**
 * A source's overflow bucket: 16 bits of a hash of it, the same in memory and in Redis.
 *
 * @example
 * overflowBucketOf('192.0.2.7'); // an integer in [0, OVERFLOW_BUCKETS)
 */
export function overflowBucketOf(source: string): number {
  return createHash('sha256').update(source).digest().readUInt16BE(0);
}
