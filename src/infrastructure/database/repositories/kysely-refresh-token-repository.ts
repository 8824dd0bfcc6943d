import { type Kysely, type RawBuilder, sql } from 'kysely';
import type {
  NewRefreshToken,
  RefreshExpectation,
  RefreshFacts,
  RefreshRotation,
  RefreshTokenRepository,
} from '../../../application/ports/refresh-token-repository.js';
import { isUuid } from '../../../domain/ids.js';
import type { RefreshTokenRecord } from '../../../domain/refresh-token.js';
import type { Role } from '../../../domain/user.js';
import { liveTokens } from '../live-token-query.js';
import { PREPARED } from '../prepared-statements.js';
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

  /** One round trip instead of four ({@link refreshFactsStatement}). */
  async findForRefresh(tokenHash: string): Promise<RefreshFacts | null> {
    return this.#facts(tokenHash, true);
  }

  async findFacts(tokenHash: string): Promise<RefreshFacts | null> {
    return this.#facts(tokenHash, false);
  }

  async #facts(tokenHash: string, locked: boolean): Promise<RefreshFacts | null> {
    const result = await refreshFactsStatement(locked, tokenHash).execute(this.#db);
    const row = result.rows[0];
    if (row === undefined) return null;
    return {
      readAt: row.db_now,
      config: {
        globalMinTokenVersion: row.global_min_token_version,
        gracePeriodSeconds: row.grace_period_seconds,
        lastRotationAt: row.last_rotation_at,
        lastRotationReason: row.last_rotation_reason,
        graceUntil: row.grace_until,
        updatedAt: row.c_updated_at,
      },
      token: toRefreshTokenRecord(row),
      user: {
        id: row.user_id,
        email: row.u_email,
        passwordHash: row.u_password_hash,
        role: row.u_role,
        minTokenVersion: row.u_min_token_version,
        disabledAt: row.u_disabled_at,
        createdAt: row.u_created_at,
      },
      session: {
        id: row.session_id,
        userId: row.user_id,
        createdAt: row.s_created_at,
        lastUsedAt: row.s_last_used_at,
        expiresAt: row.s_expires_at,
        revokedAt: row.s_revoked_at,
        userAgent: row.s_user_agent,
        ip: row.s_ip,
      },
    };
  }

  /** One statement ({@link rotationStatement}); the guard is the only difference between the paths. */
  async rotate(input: RefreshRotation, expected: RefreshExpectation | null): Promise<boolean> {
    const { successor: t, successorSealed, usedAt, writeBefore } = input;
    const values: RotationValues = {
      writeBefore,
      parentId: t.parentId,
      successorId: t.id,
      sessionId: t.sessionId,
      userId: t.userId,
      tokenHash: t.tokenHash,
      userVersion: t.stamp.userVersion,
      globalVersion: t.stamp.globalVersion,
      createdAt: t.createdAt,
      expiresAt: t.expiresAt,
      usedAt,
      successorSealed,
      globalMinTokenVersion: expected?.globalMinTokenVersion ?? null,
      graceUntil: expected?.graceUntil ?? null,
      userMinTokenVersion: expected?.userMinTokenVersion ?? null,
      role: expected?.role ?? null,
    };
    const guard = expected === null ? 'locks-held' : 'unchanged';
    const result = await rotationStatement(guard, (name) => values[name]).execute(this.#db);
    return result.rows[0]?.written === 1;
  }

  async reopenReuseWindow(tokenHash: string, usedAt: readonly Date[], now: Date): Promise<boolean> {
    if (usedAt.length === 0) return false;
    // The row is locked first, without waiting: a write still in progress holds it, and may
    // yet commit (committed locally, waiting for a synchronous standby, invisible until
    // then). Reading past it would take the lost write for one that never happened; the
    // lock error (unavailable) leaves the entry for the next attempt instead.
    const result = await sql<{ reopened: number }>`
      with locked as (
        select id, used_at, revoked_at, successor_sealed from refresh_tokens
        where token_hash = ${tokenHash} for update nowait
      ), reopened as (
        update refresh_tokens t set used_at = ${now} from locked l
        where t.id = l.id and l.used_at in (${sql.join([...usedAt])})
          and l.revoked_at is null and l.successor_sealed is not null
        returning 1
      )
      select count(*)::int as reopened from reopened`.execute(this.#db);
    return result.rows[0]?.reopened === 1;
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
      // A revoked family is never replayed again: its seals go with it.
      .set({ revoked_at: at, successor_sealed: null })
      .where('session_id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async revokeByUser(userId: string, at: Date, exceptSessionId?: string): Promise<number> {
    if (!isUuid(userId)) return 0;
    let query = this.#db
      .updateTable('refresh_tokens')
      .set({ revoked_at: at, successor_sealed: null })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (exceptSessionId !== undefined && isUuid(exceptSessionId)) {
      query = query.where('session_id', '<>', exceptSessionId);
    }
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * One bounded statement over the partial index `refresh_tokens_sealed_used_at_idx`.
   * Rows another transaction holds (a refresh deciding on them) are skipped, not waited
   * for: the next pass takes them. `= any(array(…))` makes the update find its rows by
   * primary key (`in (…)` let PostgreSQL hash-join against a scan of the whole table).
   */
  async clearSealedSuccessors(usedBefore: Date, limit: number): Promise<number> {
    const result = await sql`
      update refresh_tokens set successor_sealed = null
      where id = any(array(
        select id from refresh_tokens
        where successor_sealed is not null and used_at < ${usedBefore}
        limit ${limit}
        for update skip locked
      ))`.execute(this.#db);
    return Number(result.numAffectedRows ?? 0n);
  }

  async countLive(now: Date, userId?: string): Promise<number> {
    if (userId !== undefined && !isUuid(userId)) return 0;
    let query = liveTokens(this.#db, now).select((eb) => eb.fn.countAll<string>().as('count'));
    if (userId !== undefined) query = query.where('token.user_id', '=', userId);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.count);
  }
}

interface RefreshFactsRow extends Omit<RefreshTokenRow, 'token_hash' | 'parent_id'> {
  readonly db_now: Date;
  readonly global_min_token_version: number;
  readonly grace_period_seconds: number;
  readonly last_rotation_at: Date | null;
  readonly last_rotation_reason: string | null;
  readonly grace_until: Date | null;
  readonly c_updated_at: Date;
  readonly u_email: string;
  readonly u_password_hash: string;
  readonly u_role: Role;
  readonly u_min_token_version: number;
  readonly u_disabled_at: Date | null;
  readonly u_created_at: Date;
  readonly s_created_at: Date;
  readonly s_last_used_at: Date;
  readonly s_expires_at: Date;
  readonly s_revoked_at: Date | null;
  readonly s_user_agent: string | null;
  readonly s_ip: string | null;
}

function toRefreshTokenRecord(row: Omit<RefreshTokenRow, 'token_hash' | 'parent_id'>): RefreshTokenRecord {
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

/**
 * Everything a refresh decides on, in one statement: with `locked`, PostgreSQL takes the
 * row locks of its locking clauses in their order, for each row the join yields: config
 * (share), then token (update), then user (share) — the lock order of
 * application/lock-order.ts. A lock that had to wait re-reads the newest version of the
 * locked rows, so a rotation that committed meanwhile is seen. `clock_timestamp()` is the
 * database's clock, which a write's deadline is set from. Exported for the benchmarks,
 * which run this very statement (bench/support/refresh-statements.ts).
 */
export function refreshFactsStatement(locked: boolean, tokenHash: unknown): RawBuilder<RefreshFactsRow> {
  const locks = locked ? sql`for share of c for update of t for share of u` : sql``;
  return sql<RefreshFactsRow>`${sql.raw(PREPARED)}
      select clock_timestamp() as db_now, c.global_min_token_version, c.grace_period_seconds, c.last_rotation_at,
        c.last_rotation_reason, c.grace_until, c.updated_at as c_updated_at,
        t.id, t.session_id, t.user_id, t.user_version, t.global_version, t.created_at, t.expires_at,
        t.used_at, t.revoked_at, t.successor_id, t.successor_sealed,
        u.email as u_email, u.password_hash as u_password_hash, u.role as u_role,
        u.min_token_version as u_min_token_version, u.disabled_at as u_disabled_at, u.created_at as u_created_at,
        s.created_at as s_created_at, s.last_used_at as s_last_used_at, s.expires_at as s_expires_at,
        s.revoked_at as s_revoked_at, s.user_agent as s_user_agent, s.ip as s_ip
      from security_config c cross join refresh_tokens t
        join users u on u.id = t.user_id
        join sessions s on s.id = t.session_id
      where c.id = 1 and t.token_hash = ${tokenHash}
      ${locks}`;
}

/** What a rotation writes, by name: the successor, its parent's use, and what the guard checks. */
export interface RotationValues {
  readonly writeBefore: Date;
  readonly parentId: string;
  readonly successorId: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly tokenHash: string;
  readonly userVersion: number;
  readonly globalVersion: number;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly usedAt: Date;
  readonly successorSealed: string;
  /** The `unchanged` guard's expectation (null, and unread, under `locks-held`). */
  readonly globalMinTokenVersion: number | null;
  readonly graceUntil: Date | null;
  readonly userMinTokenVersion: number | null;
  readonly role: Role | null;
}

/**
 * What a rotation's write must find before it writes anything:
 * - `locks-held`: the caller's transaction holds the locks of `findForRefresh` and decided
 *   under them; only the deadline is checked.
 * - `unchanged`: the facts were read without locks. The guard takes the lock order of
 *   application/lock-order.ts (config share → token update → user share) and re-checks
 *   under those locks what the unlocked read decided on; a lock that waited re-reads the
 *   newest row versions (EvalPlanQual), so a rotation, a use or a revocation that
 *   committed since the read leaves it empty, and then nothing is written.
 */
type RotationGuard = 'locks-held' | 'unchanged';

/**
 * The one write of a refresh: data-modifying CTEs, the successor inserted, its parent
 * marked used (pointing at it, sealed) and the session touched, all only if the guard
 * (`facts`) yields the parent, and only before `writeBefore` by the database's clock: a
 * statement that arrives after its client was answered 503 must not use the token the
 * client still holds. Its own transaction under `unchanged`. `value` gives each named
 * value (the repository its parameters; the benchmarks, pgbench expressions).
 */
export function rotationStatement(
  guard: RotationGuard,
  value: (name: keyof RotationValues) => unknown,
): RawBuilder<{ written: number }> {
  const facts =
    guard === 'locks-held'
      ? sql`select ${value('parentId')}::uuid as id where clock_timestamp() < ${value('writeBefore')}`
      : sql`select t.id from security_config c cross join refresh_tokens t
          join users u on u.id = t.user_id
          join sessions s on s.id = t.session_id
        where c.id = 1 and t.id = ${value('parentId')} and clock_timestamp() < ${value('writeBefore')}
          and c.global_min_token_version = ${value('globalMinTokenVersion')}
          and c.grace_until is not distinct from ${value('graceUntil')}
          and t.used_at is null and t.revoked_at is null
          and u.min_token_version = ${value('userMinTokenVersion')} and u.role = ${value('role')}
          and u.disabled_at is null
          and s.revoked_at is null
        for share of c for update of t for share of u`;
  return sql<{ written: number }>`${sql.raw(PREPARED)}
      with facts as (
        ${facts}
      ), successor as (
        insert into refresh_tokens
          (id, session_id, user_id, token_hash, user_version, global_version, created_at, expires_at, parent_id)
        select ${value('successorId')}, ${value('sessionId')}, ${value('userId')}, ${value('tokenHash')},
          ${value('userVersion')}, ${value('globalVersion')}, ${value('createdAt')}, ${value('expiresAt')}, facts.id
        from facts
      ), parent as (
        update refresh_tokens set used_at = ${value('usedAt')}, successor_id = ${value('successorId')},
          successor_sealed = ${value('successorSealed')}
        from facts where refresh_tokens.id = facts.id
      ), touched as (
        update sessions set last_used_at = ${value('usedAt')} from facts where sessions.id = ${value('sessionId')}
      )
      select count(*)::int as written from facts`;
}
