import { type Kysely, sql } from 'kysely';
import { revocationWindowStart } from '../../application/queries/get-revocations/query.js';
import type { Database } from '../database/schema.js';

/** The tables the pruner deletes from, in the order it visits them (children before parents). */
export const PRUNED_TABLES = [
  'refresh_tokens',
  'sessions',
  'webhook_deliveries',
  'outbox',
  'audit_log',
  'revocation_log',
] as const;

export type PrunedTable = (typeof PRUNED_TABLES)[number];

/** Rows per table: what a pass deleted, or what a dry run would delete. */
export type PruneCounts = Readonly<Record<PrunedTable, number>>;

/**
 * How long rows are kept. `null` keeps them for ever. The windows of refresh tokens and
 * the revocation log are not settings: they follow from rules other code relies on.
 */
export interface RetentionPolicy {
  /** A used token's successor is handed out again this long after its use (idempotent retries). */
  readonly reuseIntervalSeconds: number;
  /** The revocation feed answers only the changes of one access-token TTL (plus clock skew). */
  readonly accessTokenTtlSeconds: number;
  /** A revoked session (and its tokens) is kept this long after its revocation. */
  readonly revokedSessionsSeconds: number | null;
  /** Delivered or dead webhook deliveries, and fanned-out outbox events, this long after they were made. */
  readonly deliveredEventsSeconds: number | null;
  /** Outbox events never fanned out (no webhook URL configured): this long. Default: for ever. */
  readonly unpublishedEventsSeconds: number | null;
  /** Audit rows: this long. Default: for ever. */
  readonly auditSeconds: number | null;
}

/** The instants a pass compares against, fixed at its start so every batch agrees. */
export interface Cutoffs {
  readonly now: Date;
  /**
   * Tokens that expired before this go. Not `now`: a successor is never deleted while its
   * parent's reuse interval runs (the parent's retry must still find it), and a successor
   * is made when its parent is used, so it expires no earlier than that use.
   */
  readonly tokensExpiredBefore: Date;
  readonly sessionsRevokedBefore: Date | null;
  readonly eventsBefore: Date | null;
  readonly unpublishedEventsBefore: Date | null;
  readonly auditBefore: Date | null;
  /** The revocation feed's window start: it never answers an older row. */
  readonly revocationsBefore: Date;
}

/**
 * The cutoffs of a pass starting at `now`.
 *
 * @example
 * const cutoffs = cutoffsAt(clock.now(), policy);
 */
export function cutoffsAt(now: Date, policy: RetentionPolicy): Cutoffs {
  const back = (seconds: number | null) =>
    seconds === null ? null : new Date(now.getTime() - seconds * 1000);
  return {
    now,
    tokensExpiredBefore: new Date(now.getTime() - policy.reuseIntervalSeconds * 1000),
    sessionsRevokedBefore: back(policy.revokedSessionsSeconds),
    eventsBefore: back(policy.deliveredEventsSeconds),
    unpublishedEventsBefore: back(policy.unpublishedEventsSeconds),
    auditBefore: back(policy.auditSeconds),
    revocationsBefore: revocationWindowStart(now, policy.accessTokenTtlSeconds),
  };
}

/** One bounded DELETE: at most `limit` rows, found through an index, locked rows skipped. */
type BatchDelete = (db: Kysely<Database>, cutoffs: Cutoffs, limit: number) => Promise<number> | null;

/** What a table's rows are deleted by, batch after batch, and how a dry run counts them. */
export interface TableRule {
  readonly table: PrunedTable;
  /** Each returns null when its window is off; run in order, each until it deletes less than a batch. */
  readonly batches: readonly BatchDelete[];
  /** The rows the batches would delete now, each once. */
  count(db: Kysely<Database>, cutoffs: Cutoffs): Promise<number>;
}

// Every delete has the shape of the successor sweep's update: the ids come from a bounded,
// index-driven select that skips rows another transaction holds (a refresh deciding on a token,
// another pruner), and `= any(array(…))` makes the delete find them by primary key.
const affected = (result: { readonly numAffectedRows?: bigint }) => Number(result.numAffectedRows ?? 0n);

const count = async (db: Kysely<Database>, query: ReturnType<typeof sql<{ n: string | number }>>) => {
  const { rows } = await query.execute(db);
  return Number(rows[0]?.n ?? 0);
};

/**
 * The rules, table by table. Refresh tokens go before their sessions and deliveries
 * before their events, so deleting a parent never cascades into an unbounded number of
 * children: a session or event is deleted only once nothing references it.
 */
export const RETENTION_RULES: readonly TableRule[] = [
  {
    table: 'refresh_tokens',
    batches: [
      // Expired: refused as expired whatever else holds. A used token is kept until then, so
      // presenting it again inside its lifetime is still detected as reuse.
      async (db, c, limit) =>
        affected(
          await sql`delete from refresh_tokens where id = any(array(
            select id from refresh_tokens where expires_at < ${c.tokensExpiredBefore}
            limit ${limit} for update skip locked))`.execute(db),
        ),
      // Of sessions revoked longer ago than the window: the session is about to go.
      (db, c, limit) =>
        c.sessionsRevokedBefore === null
          ? null
          : sql`delete from refresh_tokens where id = any(array(
              select t.id from sessions s join refresh_tokens t on t.session_id = s.id
              where s.revoked_at < ${c.sessionsRevokedBefore}
              limit ${limit} for update of t skip locked))`
              .execute(db)
              .then(affected),
    ],
    count: async (db, c) =>
      (await count(
        db,
        sql`select count(*) as n from refresh_tokens where expires_at < ${c.tokensExpiredBefore}`,
      )) +
      (c.sessionsRevokedBefore === null
        ? 0
        : await count(
            db,
            sql`select count(*) as n from sessions s join refresh_tokens t on t.session_id = s.id
              where s.revoked_at < ${c.sessionsRevokedBefore} and t.expires_at >= ${c.tokensExpiredBefore}`,
          )),
  },
  {
    table: 'sessions',
    batches: [
      // Past the absolute age: every token of it expired with it (a token never outlives its session).
      async (db, c, limit) =>
        affected(
          await sql`delete from sessions where id = any(array(
            select s.id from sessions s
            where s.expires_at < ${c.now}
              and not exists (select 1 from refresh_tokens t where t.session_id = s.id)
            limit ${limit} for update skip locked))`.execute(db),
        ),
      (db, c, limit) =>
        c.sessionsRevokedBefore === null
          ? null
          : sql`delete from sessions where id = any(array(
              select s.id from sessions s
              where s.revoked_at < ${c.sessionsRevokedBefore}
                and not exists (select 1 from refresh_tokens t where t.session_id = s.id)
              limit ${limit} for update skip locked))`
              .execute(db)
              .then(affected),
    ],
    // A dry run deletes no token, so it counts the sessions whose tokens this pass would delete too.
    count: async (db, c) =>
      (await count(
        db,
        sql`select count(*) as n from sessions s where s.expires_at < ${c.now}
          and not exists (select 1 from refresh_tokens t
            where t.session_id = s.id and t.expires_at >= ${c.tokensExpiredBefore})`,
      )) +
      (c.sessionsRevokedBefore === null
        ? 0
        : await count(
            db,
            sql`select count(*) as n from sessions where revoked_at < ${c.sessionsRevokedBefore}
              and expires_at >= ${c.now}`,
          )),
  },
  {
    table: 'webhook_deliveries',
    batches: [
      (db, c, limit) =>
        c.eventsBefore === null
          ? null
          : sql`delete from webhook_deliveries where id = any(array(
              select id from webhook_deliveries
              where state in ('delivered', 'dead') and created_at < ${c.eventsBefore}
              limit ${limit} for update skip locked))`
              .execute(db)
              .then(affected),
    ],
    count: async (db, c) =>
      c.eventsBefore === null
        ? 0
        : count(
            db,
            sql`select count(*) as n from webhook_deliveries
              where state in ('delivered', 'dead') and created_at < ${c.eventsBefore}`,
          ),
  },
  {
    table: 'outbox',
    batches: [
      // Fanned out, and every delivery of it is done (and gone: deliveries were pruned just before).
      // A delivery still pending (a URL removed since, a receiver down) keeps its event.
      (db, c, limit) =>
        c.eventsBefore === null
          ? null
          : sql`delete from outbox where id = any(array(
              select o.id from outbox o
              where o.published_at is not null and o.occurred_at < ${c.eventsBefore}
                and not exists (select 1 from webhook_deliveries d where d.event_id = o.id)
              limit ${limit} for update skip locked))`
              .execute(db)
              .then(affected),
      // Never fanned out: waiting for a webhook URL that may never come.
      (db, c, limit) =>
        c.unpublishedEventsBefore === null
          ? null
          : sql`delete from outbox where id = any(array(
              select id from outbox
              where published_at is null and occurred_at < ${c.unpublishedEventsBefore}
              limit ${limit} for update skip locked))`
              .execute(db)
              .then(affected),
    ],
    count: async (db, c) =>
      (c.eventsBefore === null
        ? 0
        : await count(
            db,
            sql`select count(*) as n from outbox o
              where o.published_at is not null and o.occurred_at < ${c.eventsBefore}
                and not exists (select 1 from webhook_deliveries d where d.event_id = o.id
                  and not (d.state in ('delivered', 'dead') and d.created_at < ${c.eventsBefore}))`,
          )) +
      (c.unpublishedEventsBefore === null
        ? 0
        : await count(
            db,
            sql`select count(*) as n from outbox
              where published_at is null and occurred_at < ${c.unpublishedEventsBefore}`,
          )),
  },
  {
    table: 'audit_log',
    batches: [
      (db, c, limit) =>
        c.auditBefore === null
          ? null
          : sql`delete from audit_log where id = any(array(
              select id from audit_log where occurred_at < ${c.auditBefore}
              limit ${limit} for update skip locked))`
              .execute(db)
              .then(affected),
    ],
    count: async (db, c) =>
      c.auditBefore === null
        ? 0
        : count(db, sql`select count(*) as n from audit_log where occurred_at < ${c.auditBefore}`),
  },
  {
    table: 'revocation_log',
    // The counter row stays: it numbers the next change, so seqs never repeat.
    batches: [
      async (db, c, limit) =>
        affected(
          await sql`delete from revocation_log where seq = any(array(
            select seq from revocation_log where occurred_at < ${c.revocationsBefore}
            limit ${limit} for update skip locked))`.execute(db),
        ),
    ],
    count: (db, c) =>
      count(db, sql`select count(*) as n from revocation_log where occurred_at < ${c.revocationsBefore}`),
  },
];
