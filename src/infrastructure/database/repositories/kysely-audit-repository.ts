import { type Kysely, sql } from 'kysely';
import type {
  ActivityWindow,
  AuditFilter,
  AuditRepository,
} from '../../../application/ports/audit-repository.js';
import type { AuditEntry, AuditRecord } from '../../../domain/audit-entry.js';
import type { Page } from '../../../domain/page.js';
import { clampLimit, decodeCursor, isPositiveInt8, pageOf } from '../cursor.js';
import type { AuditRow, Database } from '../schema.js';

export class KyselyAuditRepository implements AuditRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async append(entry: AuditEntry): Promise<void> {
    await this.#db
      .insertInto('audit_log')
      .values({
        occurred_at: entry.occurredAt,
        actor: entry.actor,
        action: entry.action,
        user_id: entry.userId,
        reason: entry.reason,
        details: JSON.stringify(entry.details),
      })
      .execute();
  }

  /** Newest first (id descending); the cursor is the last id seen. */
  async list(filter: AuditFilter): Promise<Page<AuditRecord>> {
    const limit = clampLimit(filter.limit);
    let query = this.#db.selectFrom('audit_log').selectAll();
    if (filter.action !== undefined) query = query.where('action', '=', filter.action);
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
    if (filter.since !== undefined) query = query.where('occurred_at', '>=', filter.since);
    if (filter.until !== undefined) query = query.where('occurred_at', '<', filter.until);
    if (filter.cursor !== undefined) {
      const [lastId] = decodeCursor(filter.cursor, [isPositiveInt8]) as [string];
      query = query.where('id', '<', lastId);
    }
    const rows = await query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    return pageOf(rows, limit, toAuditRecord, (item) => [item.id]);
  }

  /** Counted by the database: the answer's size is bounded by the number of intervals, not of rows. */
  async countByInterval(
    window: ActivityWindow & { readonly actions: readonly string[] },
  ): Promise<{ action: string; bucket: number; count: number }[]> {
    if (window.actions.length === 0) return [];
    const bucket = sql<number>`floor(extract(epoch from (occurred_at - ${window.since}::timestamptz)) / ${window.bucketSeconds}::int)::int`;
    const rows = await this.#db
      .selectFrom('audit_log')
      .select((eb) => ['action', bucket.as('bucket'), eb.fn.countAll<string>().as('count')])
      .where('action', 'in', [...window.actions])
      .where('occurred_at', '>=', window.since)
      .where('occurred_at', '<', window.until)
      .groupBy(['action', sql`2`])
      .execute();
    return rows.map((row) => ({ action: row.action, bucket: Number(row.bucket), count: Number(row.count) }));
  }
}

function toAuditRecord(row: AuditRow): AuditRecord {
  return {
    id: String(row.id),
    occurredAt: row.occurred_at,
    actor: row.actor,
    action: row.action,
    userId: row.user_id,
    reason: row.reason,
    details: row.details,
  };
}
