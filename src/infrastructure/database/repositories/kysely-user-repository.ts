import { type Kysely, sql, type Updateable } from 'kysely';
import type { RowLock } from '../../../application/ports/row-lock.js';
import type { NewUser, UserRepository } from '../../../application/ports/user-repository.js';
import { normaliseEmail } from '../../../domain/credentials.js';
import { isUuid } from '../../../domain/ids.js';
import type { Page } from '../../../domain/page.js';
import type { Role, UserRecord } from '../../../domain/user.js';
import { pageByCreatedAt } from '../page-by-created-at.js';
import { withRowLock } from '../row-lock.js';
import type { Database, UserRow, UsersTable } from '../schema.js';
import { ImmediateRevocations, type RevocationRecorder } from './kysely-revocation-log.js';

export class KyselyUserRepository implements UserRepository {
  readonly #db: Kysely<Database>;

  readonly #revocations: RevocationRecorder;

  constructor(db: Kysely<Database>, revocations: RevocationRecorder = new ImmediateRevocations(db)) {
    this.#db = db;
    this.#revocations = revocations;
  }

  async insert(user: NewUser): Promise<'inserted' | 'email_taken'> {
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
    const row = await withRowLock(
      this.#db.selectFrom('users').selectAll().where('id', '=', id),
      lock,
    ).executeTakeFirst();
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
    atLeast?: number,
  ): Promise<{ readonly previousVersion: number; readonly newVersion: number } | null> {
    if (!isUuid(id)) return null;
    // The version before comes from the locked row itself, not new - 1: a raise may jump.
    const row = await this.#db
      .with('before', (db) =>
        db.selectFrom('users').select(['id', 'min_token_version']).where('id', '=', id).forUpdate(),
      )
      .updateTable('users')
      .from('before')
      .set({
        min_token_version: sql<number>`greatest(before.min_token_version + 1, ${atLeast ?? null}::integer)`,
        updated_at: at,
      })
      .whereRef('users.id', '=', 'before.id')
      .returning(['users.min_token_version as newVersion', 'before.min_token_version as previousVersion'])
      .executeTakeFirst();
    if (row === undefined) return null;
    await this.#revocations.record({
      kind: 'user_version',
      userId: id,
      details: { minTokenVersion: row.newVersion },
      occurredAt: at,
    });
    return { previousVersion: row.previousVersion, newVersion: row.newVersion };
  }

  async updatePasswordHash(id: string, passwordHash: string, at: Date): Promise<void> {
    await this.#update(id, { password_hash: passwordHash }, at);
  }

  async setRole(id: string, role: Role, at: Date): Promise<void> {
    await this.#update(id, { role }, at);
  }

  async setDisabled(id: string, disabledAt: Date | null, at: Date): Promise<void> {
    const row = await this.#update(id, { disabled_at: disabledAt }, at);
    if (row === undefined) return;
    await this.#revocations.record({
      kind: disabledAt === null ? 'user_enabled' : 'user_disabled',
      userId: id,
      details: { minTokenVersion: row.min_token_version },
      occurredAt: at,
    });
  }

  /** One user row's columns, with `updated_at`; an id that is no UUID names no row. */
  async #update(
    id: string,
    values: Pick<Updateable<UsersTable>, 'password_hash' | 'role' | 'disabled_at'>,
    at: Date,
  ): Promise<{ readonly min_token_version: number } | undefined> {
    if (!isUuid(id)) return undefined;
    return this.#db
      .updateTable('users')
      .set({ ...values, updated_at: at })
      .where('id', '=', id)
      .returning('min_token_version')
      .executeTakeFirst();
  }

  /**
   * Oldest first, keyset-paginated on (created_at, id). `email` matches any part
   * of the address, case-insensitively.
   */
  async list(filter: {
    readonly email?: string;
    readonly ids?: readonly string[];
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Page<UserRecord>> {
    let query = this.#db.selectFrom('users').selectAll();
    if (filter.ids !== undefined) {
      // A string that is no UUID names no user; comparing it to the uuid column would be a cast error.
      const ids = filter.ids.filter((id) => isUuid(id));
      if (ids.length === 0) return { items: [], nextCursor: null };
      query = query.where('id', 'in', ids);
    }
    if (filter.email !== undefined && filter.email !== '') {
      query = query.where('email', 'like', `%${escapeLike(normalizeEmail(filter.email))}%`);
    }
    return pageByCreatedAt(query, filter, 'asc', toUserRecord);
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
