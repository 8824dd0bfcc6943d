import type { Page } from '../../domain/page.js';
import type { SessionRecord } from '../../domain/session.js';
import type { RowLock } from './row-lock.js';

export interface NewSession {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly userAgent: string | null;
  readonly ip: string | null;
}

export interface SessionRepository {
  insert(session: NewSession): Promise<void>;
  findById(id: string, lock?: RowLock): Promise<SessionRecord | null>;
  /**
   * Sessions not revoked and not past their absolute age, newest first, one page at a
   * time (keyset on created_at and id; the cursor is opaque to callers).
   */
  listActiveByUser(
    userId: string,
    now: Date,
    page: { readonly limit: number; readonly cursor?: string },
  ): Promise<Page<SessionRecord>>;
  /** The ids of a user's active sessions after the newest `keep`, oldest first. */
  listActiveIdsBeyondNewest(userId: string, now: Date, keep: number): Promise<readonly string[]>;
  /**
   * Serialises the logins of one user until the transaction ends (an advisory lock no
   * other writer takes), so two logins at the session cap count one after the other.
   */
  lockLoginsOf(userId: string): Promise<void>;
  touch(id: string, at: Date): Promise<void>;
  /** Revokes one session; false when it was already revoked or does not exist. */
  revoke(id: string, at: Date, reason: string): Promise<boolean>;
  /** Revokes every active session of a user except `exceptSessionId`; returns how many. */
  revokeAllForUser(userId: string, at: Date, reason: string, exceptSessionId?: string): Promise<number>;
  /** Active sessions (of one user, or all). */
  countActive(now: Date, userId?: string): Promise<number>;
}
