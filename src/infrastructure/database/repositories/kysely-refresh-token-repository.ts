import type { Kysely } from 'kysely';
import type {
  NewRefreshToken,
  RefreshTokenRecord,
  RefreshTokenRepository,
} from '../../../application/ports/repositories.js';
import { isUuid } from '../../../domain/ids.js';
import { liveTokens } from '../live-token-query.js';
import type { Database, RefreshTokenRow } from '../schema.js';

export class KyselyRefreshTokenRepository implements RefreshTokenRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insert(token: NewRefreshToken): Promise<void> {
    await this.#db
      .insertInto('refresh_tokens')
      .values({
        id: token.id,
        session_id: token.sessionId,
        user_id: token.userId,
        token_hash: token.tokenHash,
        user_version: token.stamp.userVersion,
        global_version: token.stamp.globalVersion,
        created_at: token.createdAt,
        expires_at: token.expiresAt,
        parent_id: token.parentId,
        successor_id: null,
        successor_sealed: null,
      })
      .execute();
  }

  /** `where token_hash = $1 for update`: the unique index finds it, the lock serialises refreshes. */
  async findByHashForUpdate(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const row = await this.#db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .forUpdate()
      .executeTakeFirst();
    return row === undefined ? null : toRefreshTokenRecord(row);
  }

  async markUsed(id: string, at: Date, successorId: string, successorSealed: string): Promise<void> {
    await this.#db
      .updateTable('refresh_tokens')
      .set({ used_at: at, successor_id: successorId, successor_sealed: successorSealed })
      .where('id', '=', id)
      .execute();
  }

  async findById(id: string): Promise<RefreshTokenRecord | null> {
    if (!isUuid(id)) return null;
    const row = await this.#db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? null : toRefreshTokenRecord(row);
  }

  async revokeBySession(sessionId: string, at: Date): Promise<number> {
    if (!isUuid(sessionId)) return 0;
    const result = await this.#db
      .updateTable('refresh_tokens')
      .set({ revoked_at: at })
      .where('session_id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async revokeByUser(userId: string, at: Date, exceptSessionId?: string): Promise<number> {
    if (!isUuid(userId)) return 0;
    let query = this.#db
      .updateTable('refresh_tokens')
      .set({ revoked_at: at })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (exceptSessionId !== undefined && isUuid(exceptSessionId)) {
      query = query.where('session_id', '<>', exceptSessionId);
    }
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async countLive(now: Date, userId?: string): Promise<number> {
    if (userId !== undefined && !isUuid(userId)) return 0;
    let query = liveTokens(this.#db, now).select((eb) => eb.fn.countAll<string>().as('count'));
    if (userId !== undefined) query = query.where('token.user_id', '=', userId);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.count);
  }
}

function toRefreshTokenRecord(row: RefreshTokenRow): RefreshTokenRecord {
  return {
    id: row.id,
    sessionId: row.session_id,
    userId: row.user_id,
    stamp: { userVersion: row.user_version, globalVersion: row.global_version },
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    revokedAt: row.revoked_at,
    successorId: row.successor_id,
    successorSealed: row.successor_sealed,
  };
}
