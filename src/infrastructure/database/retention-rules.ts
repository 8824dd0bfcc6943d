import { type Kysely, type RawBuilder, sql } from 'kysely';
import { revocationWindowStart } from '../../domain/revocation-window.js';
import { countPrunableAudit, pruneAuditSegment } from './audit-segment-prune.js';
import type { Database } from './schema.js';

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

/**
 * One kind of bounded DELETE of a table: the keys of at most a batch of rows older than
 * a cutoff, found through an index.
 */
export interface BatchSpec {
  /** The instant its rows are older than; null when its window is off. */
  readonly cutoff: (c: Cutoffs) => Date | null;
  /** Selects the keys of the rows to delete (no limit, no lock: the batch adds them). */
  readonly candidates: (cutoff: Date) => RawBuilder<unknown>;
  /** With a join: the alias of the table whose rows are locked. */
  readonly lockOf?: string;
}

/** What a table's rows are deleted by, batch after batch, and how a dry run counts them. */
export interface TableRule {
  readonly table: PrunedTable;
  /** The primary key the batches select (`id` when absent). */
  readonly key?: 'seq';
  /** Run in order, each until it deletes less than a batch. */
  readonly batches: readonly BatchSpec[];
  /**
   * Instead of batches: removes one whole unit (of about `limit` rows) in one transaction,
   * called until it answers null (nothing more is due).
   */
  readonly segments?: (db: Kysely<Database>, cutoffs: Cutoffs, limit: number) => Promise<number | null>;
  /** The rows the batches would delete now, each once. */
  count(db: Kysely<Database>, cutoffs: Cutoffs): Promise<number>;
}

// Every delete has the shape of the successor sweep's update: the keys come from a bounded,
// index-driven select that skips rows another transaction holds (a refresh deciding on a token,
// another pruner), and `= any(array(…))` makes the delete find them by primary key.
/**
 * The DELETE of one batch of at most `limit` rows, or null when the batch's window is off.
 *
 * @example
 * const statement = batchStatement(rule, rule.batches[0], cutoffsAt(now, policy), 1000);
 */
export function batchStatement(
  rule: TableRule,
  batch: BatchSpec,
  cutoffs: Cutoffs,
  limit: number,
): RawBuilder<unknown> | null {
  const cutoff = batch.cutoff(cutoffs);
  if (cutoff === null) return null;
  const key = sql.ref(rule.key ?? 'id');
  const lock = batch.lockOf === undefined ? sql`for update` : sql`for update of ${sql.ref(batch.lockOf)}`;
  return sql`delete from ${sql.table(rule.table)} where ${key} = any(array(
    ${batch.candidates(cutoff)} limit ${limit} ${lock} skip locked))`;
}

/** Runs one batch: the rows it deleted, or null when its window is off. */
export function deleteBatch(
  db: Kysely<Database>,
  rule: TableRule,
  batch: BatchSpec,
  cutoffs: Cutoffs,
  limit: number,
): Promise<number> | null {
  const statement = batchStatement(rule, batch, cutoffs, limit);
  return statement === null ? null : statement.execute(db).then((r) => Number(r.numAffectedRows ?? 0n));
}

const count = async (db: Kysely<Database>, query: ReturnType<typeof sql<{ n: string | number }>>) => {
  const { rows } = await query.execute(db);
  return Number(rows[0]?.n ?? 0);
};

/** Sessions older than the cutoff by `column` whose tokens are all gone. */
const sessionsWithoutTokens = (column: 'expires_at' | 'revoked_at') => (cutoff: Date) =>
  sql`select s.id from sessions s where ${sql.ref(`s.${column}`)} < ${cutoff}
    and not exists (select 1 from refresh_tokens t where t.session_id = s.id)`;

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
      {
        cutoff: (c) => c.tokensExpiredBefore,
        candidates: (cutoff) => sql`select id from refresh_tokens where expires_at < ${cutoff}`,
      },
      // Of sessions revoked longer ago than the window: the session is about to go.
      {
        cutoff: (c) => c.sessionsRevokedBefore,
        candidates: (cutoff) => sql`select t.id from sessions s join refresh_tokens t on t.session_id = s.id
          where s.revoked_at < ${cutoff}`,
        lockOf: 't',
      },
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
      { cutoff: (c) => c.now, candidates: sessionsWithoutTokens('expires_at') },
      { cutoff: (c) => c.sessionsRevokedBefore, candidates: sessionsWithoutTokens('revoked_at') },
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
      {
        cutoff: (c) => c.eventsBefore,
        candidates: (cutoff) => sql`select id from webhook_deliveries
          where state in ('delivered', 'dead') and created_at < ${cutoff}`,
      },
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
      {
        cutoff: (c) => c.eventsBefore,
        candidates: (cutoff) => sql`select o.id from outbox o
          where o.published_at is not null and o.occurred_at < ${cutoff}
            and not exists (select 1 from webhook_deliveries d where d.event_id = o.id)`,
      },
      // Never fanned out: waiting for a webhook URL that may never come.
      {
        cutoff: (c) => c.unpublishedEventsBefore,
        candidates: (cutoff) =>
          sql`select id from outbox where published_at is null and occurred_at < ${cutoff}`,
      },
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
    // Whole segments ending at a stored checkpoint, the anchor moved in the same transaction
    // (docs/AUDIT.md, "Pruned rows"): the trail that remains still verifies.
    table: 'audit_log',
    batches: [],
    segments: (db, c, limit) =>
      c.auditBefore === null ? Promise.resolve(null) : pruneAuditSegment(db, c.auditBefore, limit),
    count: async (db, c) => (c.auditBefore === null ? 0 : countPrunableAudit(db, c.auditBefore)),
  },
  {
    table: 'revocation_log',
    // The counter row stays: it numbers the next change, so seqs never repeat.
    key: 'seq',
    batches: [
      {
        cutoff: (c) => c.revocationsBefore,
        candidates: (cutoff) => sql`select seq from revocation_log where occurred_at < ${cutoff}`,
      },
    ],
    count: (db, c) =>
      count(db, sql`select count(*) as n from revocation_log where occurred_at < ${c.revocationsBefore}`),
  },
];
