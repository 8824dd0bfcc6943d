import { sql } from 'kysely';

/**
 * An audit row's `occurred_at` as the hash chain encodes it: UTC with microseconds, the
 * same text on PGlite and PostgreSQL whatever the session's time zone (docs/DESIGN.md,
 * "The audit hash chain"). A JS date can carry only milliseconds, so this, not the date
 * the driver returns, is what verification reads.
 */
export const AUDIT_TIME_TEXT = sql<string>`to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
