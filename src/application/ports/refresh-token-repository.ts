import type { RefreshTokenRecord } from '../../domain/refresh-token.js';
import type { SessionRecord } from '../../domain/session.js';
import type { UserRecord } from '../../domain/user.js';
import type { SecurityConfig, VersionStamp } from '../../domain/versions.js';

export interface NewRefreshToken {
  readonly id: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly tokenHash: string;
  readonly stamp: VersionStamp;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly parentId: string | null;
}

/**
 * What a refresh decides on, read in one statement: locked by
 * {@link RefreshTokenRepository.findForRefresh}, unlocked by {@link RefreshTokenRepository.findFacts}.
 */
export interface RefreshFacts {
  /**
   * The database's own clock when it read them: a write's deadline is set from it, so the
   * deadline holds whatever the skew between this server's clock and the database's.
   */
  readonly readAt: Date;
  readonly config: SecurityConfig;
  readonly token: RefreshTokenRecord;
  readonly user: UserRecord;
  readonly session: SessionRecord;
}

/** A rotation's writes: the successor inserted, its parent marked used and pointing at it (sealed). */
export interface RefreshRotation {
  readonly successor: NewRefreshToken & { readonly parentId: string };
  readonly successorSealed: string;
  readonly usedAt: Date;
  /**
   * The write applies only if the database runs it before this time, by its own clock: a
   * statement that arrives after its client was answered 503 (held by a network that
   * healed later) must not use the token the client still holds.
   */
  readonly writeBefore: Date;
}

/** What a refresh decided on, read without locks: its write goes ahead only if all of it still holds. */
export interface RefreshExpectation {
  readonly globalMinTokenVersion: number;
  readonly graceUntil: Date | null;
  readonly userMinTokenVersion: number;
  readonly role: UserRecord['role'];
}

export interface RefreshTokenRepository {
  insert(token: NewRefreshToken): Promise<void>;
  /**
   * Everything a refresh decides on, read in one statement that takes the shared
   * lock order (../lock-order.ts): the security config FOR SHARE, then the token
   * (by hash) FOR UPDATE, then its user FOR SHARE.
   */
  findForRefresh(tokenHash: string): Promise<RefreshFacts | null>;
  /**
   * The same facts read without any lock: for questions that change nothing (introspection,
   * revocation's first lookup) and for a refresh's first judgement, whose write
   * (`rotate` with `expected`) re-checks them under the lock order's row locks.
   */
  findFacts(tokenHash: string): Promise<RefreshFacts | null>;
  /**
   * Inserts the successor, marks the parent used (pointing at it) and touches the session,
   * in one statement, before `writeBefore` by the database's clock. With `expected` null
   * the caller's transaction holds the locks of `findForRefresh` and nothing else is
   * re-checked; otherwise the statement is its own transaction and writes only if, under
   * the lock order's row locks, the parent is still unused and unrevoked, its session
   * unrevoked, its user enabled and the versions, grace and role still those expected.
   * False: nothing was written (too late, or changed: decide again under locks).
   */
  rotate(input: RefreshRotation, expected: RefreshExpectation | null): Promise<boolean>;
  /**
   * A refresh whose answer was lost: when the token (by hash) is still as one of those
   * refreshes left it (used at one of `usedAt`, unrevoked, its successor still sealed), its
   * reuse window starts again at `now`. Returns whether it did. Throws (unavailable) while
   * a write to the token is still in progress: it may yet commit (a commit waiting for a
   * synchronous standby), so its absence proves nothing.
   */
  reopenReuseWindow(tokenHash: string, usedAt: readonly Date[], now: Date): Promise<boolean>;
  findById(id: string): Promise<RefreshTokenRecord | null>;
  /** Revokes every unrevoked token of a session (and drops its sealed successors); returns how many. */
  revokeBySession(sessionId: string, at: Date): Promise<number>;
  /** Revokes every unrevoked token of a user's sessions, except one session's (and drops their sealed successors); returns how many. */
  revokeByUser(userId: string, at: Date, exceptSessionId?: string): Promise<number>;
  /**
   * Drops the sealed successor of at most `limit` tokens used before `usedBefore`
   * (their reuse interval is over: nothing may open them any more); returns how many.
   */
  clearSealedSuccessors(usedBefore: Date, limit: number): Promise<number>;
  /** Live tokens (unused, unrevoked, unexpired, in an active session), of one user or all. */
  countLive(now: Date, userId?: string): Promise<number>;
}
