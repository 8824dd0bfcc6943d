import { sql } from 'kysely';
import type { ChainContent } from '../../domain/audit-chain.js';

/**
 * An audit row's `occurred_at` as the hash chain encodes it: UTC with microseconds, the
 * same text on PGlite and PostgreSQL whatever the session's time zone (docs/DESIGN.md,
 * "The audit hash chain"). A JS date can carry only milliseconds, so this, not the date
 * the driver returns, is what verification reads.
 */
export const AUDIT_TIME_TEXT = sql<string>`to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The columns of an audit row the chain covers, as a query selects them (`occurred_at_text`: {@link AUDIT_TIME_TEXT}). */
export interface AuditContentColumns {
  readonly occurred_at_text: string;
  readonly actor: string;
  readonly action: string;
  readonly user_id: string | null;
  readonly reason: string | null;
  readonly details: unknown;
}

/**
 * What the chain hashes of a row as the database gave it back: the one mapping the
 * repository, the chainer and the upgrade's migration share. A raw `sql` query may give jsonb
 * back as text; the query builder gives it parsed.
 */
export function chainContentOf(row: AuditContentColumns): ChainContent {
  return {
    occurredAt: row.occurred_at_text,
    actor: row.actor,
    action: row.action,
    userId: row.user_id,
    reason: row.reason,
    details: typeof row.details === 'string' ? JSON.parse(row.details) : row.details,
  };
}
