import { type Kysely, sql } from 'kysely';
import type { RowLock } from '../../../application/ports/row-lock.js';
import type { NewSession, SessionRepository } from '../../../application/ports/session-repository.js';
import { isUuid } from '../../../domain/ids.js';
import type { Page } from '../../../domain/page.js';
import type { SessionRecord } from '../../../domain/session.js';
import { decodeCreatedAtCursor } from '../cursor.js';
import { liveTokens } from '../live-token-query.js';
import { pageByCreatedAt } from '../page-by-created-at.js';
import { withRowLock } from '../row-lock.js';
import type { Database, SessionRow } from '../schema.js';
import { ImmediateRevocations, type RevocationRecorder } from './kysely-revocation-log.js';

// Advisory-lock class of the per-user login lock, keyed (class, hashtext(user id)).
const LOGIN_LOCK_CLASS = 0x7477_6c31; // 'twl1'

export class KyselySessionRepository implements SessionRepository {
  readonly #db: Kysely<Database>;

  readonly #revocations: RevocationRecorder;

  constructor(db: Kysely<Database>, revocations: RevocationRecorder = new ImmediateRevocations(db)) {
    this.#db = db;
    this.#revocations = revocations;
  }

  async insert(session: NewSession): Promise<void> {
    await this.#db
      .insertInto('sessions')
      .values({
        id: session.id,
        user_id: session.userId,
        created_at: session.createdAt,
        last_used_at: session.createdAt,
        expires_at: session.expiresAt,
        user_agent: session.userAgent,
        ip: session.ip,
      })
      .execute();
  }

  async findById(id: string, lock?: RowLock): Promise<SessionRecord | null> {
    if (!isUuid(id)) return null;
    const row = await withRowLock(
      this.#db.selectFrom('sessions').selectAll().where('id', '=', id),
      lock,
    ).executeTakeFirst();
    return row === undefined ? null : toSessionRecord(row);
  }

  /** Sessions with a token that would be accepted now: a rotation ends them here too, without a row write. */
  async listActiveByUser(
    userId: string,
    now: Date,
    page: { readonly limit: number; readonly cursor?: string },
  ): Promise<Page<SessionRecord>> {
    if (!isUuid(userId)) {
      // A bad cursor is refused whoever asks.
      if (page.cursor !== undefined) decodeCreatedAtCursor(page.cursor);
      return { items: [], nextCursor: null };
    }
    return pageByCreatedAt(this.#activeOf(userId, now).selectAll(), page, 'desc', toSessionRecord);
  }

  async listActiveIdsBeyondNewest(userId: string, now: Date, keep: number): Promise<readonly string[]> {
    if (!isUuid(userId)) return [];
    const rows = await this.#activeOf(userId, now)
      .select('id')
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .offset(Math.max(0, keep))
      .execute();
    return rows.reverse().map((row) => row.id);
  }

  async lockLoginsOf(userId: string): Promise<void> {
    await sql`select pg_advisory_xact_lock(${LOGIN_LOCK_CLASS}, hashtext(${userId}))`.execute(this.#db);
  }

  #activeOf(userId: string, now: Date) {
    return this.#db
      .selectFrom('sessions')
      .where('user_id', '=', userId)
      .where(
        'id',
        'in',
        liveTokens(this.#db, now).select('token.session_id').where('token.user_id', '=', userId),
      );
  }

  async touch(id: string, at: Date): Promise<void> {
    if (!isUuid(id)) return;
    await this.#db.updateTable('sessions').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async revoke(id: string, at: Date, reason: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const row = await this.#db
      .updateTable('sessions')
      .set({ revoked_at: at, revoked_reason: reason })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returning('user_id')
      .executeTakeFirst();
    if (row === undefined) return false;
    await this.recordRevoked([{ id, user_id: row.user_id }], at, reason);
    return true;
  }

  async revokeAllForUser(
    userId: string,
    at: Date,
    reason: string,
    exceptSessionId?: string,
  ): Promise<number> {
    if (!isUuid(userId)) return 0;
    let query = this.#db
      .updateTable('sessions')
      .set({ revoked_at: at, revoked_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', at);
    if (exceptSessionId !== undefined && isUuid(exceptSessionId)) {
      query = query.where('id', '<>', exceptSessionId);
    }
    const rows = await query.returning(['id', 'user_id']).execute();
    await this.recordRevoked(rows, at, reason);
    return rows.length;
  }

  /** One feed row per session: a verifier refuses access tokens whose `sid` it names. */
  private async recordRevoked(
    rows: readonly { readonly id: string; readonly user_id: string }[],
    at: Date,
    reason: string,
  ): Promise<void> {
    for (const row of rows) {
      await this.#revocations.record({
        kind: 'session_revoked',
        userId: row.user_id,
        sessionId: row.id,
        details: { reason },
        occurredAt: at,
      });
    }
  }

  async countActive(now: Date, userId?: string): Promise<number> {
    if (userId !== undefined && !isUuid(userId)) return 0;
    let query = liveTokens(this.#db, now).select((eb) =>
      eb.fn.count<string>('token.session_id').distinct().as('count'),
    );
    if (userId !== undefined) query = query.where('token.user_id', '=', userId);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.count);
  }
}

function toSessionRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    userAgent: row.user_agent,
    ip: row.ip,
  };
}
