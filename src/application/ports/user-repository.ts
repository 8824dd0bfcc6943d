import type { Page } from '../../domain/page.js';
import type { Role, UserRecord } from '../../domain/user.js';
import type { RowLock } from './row-lock.js';

export interface NewUser {
  readonly id: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly role: Role;
  readonly createdAt: Date;
}

export interface UserRepository {
  /** Inserts unless the (lower-cased) email exists; never throws on a duplicate. */
  insert(user: NewUser): Promise<'inserted' | 'email_taken'>;
  findById(id: string, lock?: RowLock): Promise<UserRecord | null>;
  findByEmail(email: string): Promise<UserRecord | null>;
  /**
   * `min_token_version = min_token_version + 1` (or `atLeast` when that is higher: a raise
   * past versions the database lost, docs/DESIGN.md §7), returning both; null when no such user.
   */
  incrementMinTokenVersion(
    id: string,
    at: Date,
    atLeast?: number,
  ): Promise<{ readonly previousVersion: number; readonly newVersion: number } | null>;
  updatePasswordHash(id: string, passwordHash: string, at: Date): Promise<void>;
  setRole(id: string, role: Role, at: Date): Promise<void>;
  /**
   * Sets `disabled_at` to `disabledAt` (null enables the account again); `updated_at` to `at`.
   * A disabled user's tokens fail the validity rule and login fails.
   */
  setDisabled(id: string, disabledAt: Date | null, at: Date): Promise<void>;
  list(filter: {
    readonly email?: string;
    /** Only these users (the console resolves the ids of an audit page to emails in one call). */
    readonly ids?: readonly string[];
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Page<UserRecord>>;
}
