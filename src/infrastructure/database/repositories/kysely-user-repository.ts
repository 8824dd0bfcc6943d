import type { Kysely } from 'kysely';
import type { RowLock } from '../../../application/ports/row-lock.js';
import type { UserRepository } from '../../../application/ports/user-repository.js';
import { normaliseEmail } from '../../../domain/credentials.js';
import { isUuid } from '../../../domain/ids.js';
import type { Page } from '../../../domain/page.js';
import type { Role, UserRecord } from '../../../domain/user.js';
import { clampLimit, decodeCursor, isIsoTimestamp, pageOf } from '../cursor.js';
import type { Database, UserRow } from '../schema.js';
import { ImmediateRevocations, type RevocationRecorder } from './kysely-revocation-log.js';

export class KyselyUserRepository implements UserRepository {
  readonly #db: Kysely<Database>;

  readonly #revocations: RevocationRecorder;

  constructor(db: Kysely<Database>, revocations: RevocationRecorder = new ImmediateRevocations(db)) {
    this.#db = db;
    this.#revocations = revocations;
  }

  async insert(user: {
    readonly id: string;
    readonly email: string;
    readonly passwordHash: string;
    readonly role: Role;
    readonly createdAt: Date;
  }): Promise<'inserted' | 'email_taken'> {
    const row = await this.#db
      .insertInto('users')
      .values({
        id: user.id,
        email: normalizeEmail(user.email),
        password_hash: user.passwordHash,
        role: user.role,
        created_at: user.createdAt,
        updated_at: user.createdAt,
      })
      .onConflict((conflict) => conflict.column('email').doNothing())
      .returning('id')
      .executeTakeFirst();
    return row === undefined ? 'email_taken' : 'inserted';
  }

  async findById(id: string, lock?: RowLock): Promise<UserRecord | null> {
    if (!isUuid(id)) return null;
    let query = this.#db.selectFrom('users').selectAll().where('id', '=', id);
    if (lock === 'share') query = query.forShare();
    if (lock === 'update') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    return row === undefined ? null : toUserRecord(row);
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const row = await this.#db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', normalizeEmail(email))
      .executeTakeFirst();
    return row === undefined ? null : toUserRecord(row);
  }

  async incrementMinTokenVersion(
    id: string,
    at: Date,
  ): Promise<{ readonly previousVersion: number; readonly newVersion: number } | null> {
    if (!isUuid(id)) return null;
    const row = await this.#db
      .updateTable('users')
      .set((eb) => ({ min_token_version: eb('min_token_version', '+', 1), updated_at: at }))
      .where('id', '=', id)
      .returning('min_token_version')
      .executeTakeFirst();
    if (row === undefined) return null;
    await this.#revocations.record({
      kind: 'user_version',
      userId: id,
      details: { minTokenVersion: row.min_token_version },
      occurredAt: at,
    });
    return { previousVersion: row.min_token_version - 1, newVersion: row.min_token_version };
  }

  async updatePasswordHash(id: string, passwordHash: string, at: Date): Promise<void> {
    if (!isUuid(id)) return;
    await this.#db
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: at })
      .where('id', '=', id)
      .execute();
  }

  async setRole(id: string, role: Role, at: Date): Promise<void> {
    if (!isUuid(id)) return;
    await this.#db.updateTable('users').set({ role, updated_at: at }).where('id', '=', id).execute();
  }

  async setDisabled(id: string, disabledAt: Date | null, at: Date): Promise<void> {
    if (!isUuid(id)) return;
    const row = await this.#db
      .updateTable('users')
      .set({ disabled_at: disabledAt, updated_at: at })
      .where('id', '=', id)
      .returning('min_token_version')
      .executeTakeFirst();
    if (row === undefined) return;
    await this.#revocations.record({
      kind: disabledAt === null ? 'user_enabled' : 'user_disabled',
      userId: id,
      details: { minTokenVersion: row.min_token_version },
      occurredAt: at,
    });
  }

  /**
   * Oldest first, keyset-paginated on (created_at, id). `email` matches any part
   * of the address, case-insensitively.
   */
  async list(filter: {
    readonly email?: string;
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Page<UserRecord>> {
    const limit = clampLimit(filter.limit);
    let query = this.#db.selectFrom('users').selectAll();
    if (filter.email !== undefined && filter.email !== '') {
      query = query.where('email', 'like', `%${escapeLike(normalizeEmail(filter.email))}%`);
    }
    if (filter.cursor !== undefined) {
      const [createdAt, id] = decodeCursor(filter.cursor, [isIsoTimestamp, isUuid]) as [string, string];
      query = query.where((eb) =>
        eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(new Date(createdAt), id)),
      );
    }
    const rows = await query
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .limit(limit + 1)
      .execute();
    return pageOf(rows, limit, toUserRecord, (item) => [item.createdAt.toISOString(), item.id]);
  }
}

/** The stored form (NFKC, lower case), so every lookup and filter compares like with like. */
function normalizeEmail(email: string): string {
  return normaliseEmail(email);
}

/** `like` treats `%`, `_` and `\` specially; a search for them means the characters. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

function toUserRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    role: row.role,
    minTokenVersion: row.min_token_version,
    disabledAt: row.disabled_at,
    createdAt: row.created_at,
  };
}
