import type { SecurityConfig, VersionStamp } from '../../domain/versions.js';

export type Role = 'user' | 'admin';

export interface UserRecord {
  readonly id: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly role: Role;
  readonly minTokenVersion: number;
  readonly disabledAt: Date | null;
  readonly createdAt: Date;
}

export interface SessionRecord {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly userAgent: string | null;
  readonly ip: string | null;
}

export interface RefreshTokenRecord {
  readonly id: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly stamp: VersionStamp;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  readonly revokedAt: Date | null;
  readonly successorId: string | null;
  readonly successorSealed: string | null;
}

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

/** What {@link RefreshTokenRepository.findForRefresh} reads, locked. */
export interface RefreshFacts {
  readonly config: SecurityConfig;
  readonly token: RefreshTokenRecord;
  readonly user: UserRecord;
  readonly session: SessionRecord;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

/** Row locks a read can take inside a transaction (PostgreSQL `FOR SHARE` / `FOR UPDATE`). */
export type RowLock = 'share' | 'update';

export interface UserRepository {
  /** Inserts unless the (lower-cased) email exists; never throws on a duplicate. */
  insert(user: {
    readonly id: string;
    readonly email: string;
    readonly passwordHash: string;
    readonly role: Role;
    readonly createdAt: Date;
  }): Promise<'inserted' | 'email_taken'>;
  findById(id: string, lock?: RowLock): Promise<UserRecord | null>;
  findByEmail(email: string): Promise<UserRecord | null>;
  /** `min_token_version = min_token_version + 1`, returning both; null when no such user. */
  incrementMinTokenVersion(
    id: string,
    at: Date,
  ): Promise<{ readonly previousVersion: number; readonly newVersion: number } | null>;
  updatePasswordHash(id: string, passwordHash: string, at: Date): Promise<void>;
  setRole(id: string, role: Role, at: Date): Promise<void>;
  /** Sets `disabled_at`; a disabled user's tokens fail the validity rule and login fails. */
  /** Sets `disabled_at` to `disabledAt` (null enables the account again); `updated_at` to `at`. */
  setDisabled(id: string, disabledAt: Date | null, at: Date): Promise<void>;
  list(filter: {
    readonly email?: string;
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Page<UserRecord>>;
}

export interface SecurityConfigRepository {
  get(lock?: RowLock): Promise<SecurityConfig>;
  /** Increments the global version in one statement, returning the version before and the new config. */
  rotateGlobal(input: {
    readonly rotatedAt: Date;
    readonly reason: string;
    readonly graceUntil: Date;
  }): Promise<{ readonly previousVersion: number; readonly config: SecurityConfig }>;
  setGracePeriod(seconds: number, at: Date): Promise<SecurityConfig>;
}

export interface SessionRepository {
  insert(session: {
    readonly id: string;
    readonly userId: string;
    readonly createdAt: Date;
    readonly expiresAt: Date;
    readonly userAgent: string | null;
    readonly ip: string | null;
  }): Promise<void>;
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

export interface RefreshTokenRepository {
  insert(token: NewRefreshToken): Promise<void>;
  /** Looks up by hash through the unique index, locking the row for the rest of the transaction. */
  findByHashForUpdate(tokenHash: string): Promise<RefreshTokenRecord | null>;
  markUsed(id: string, at: Date, successorId: string, successorSealed: string): Promise<void>;
  /**
   * Everything a refresh decides on, read in one statement that takes the shared
   * lock order (../lock-order.ts): the security config FOR SHARE, then the token
   * (by hash) FOR UPDATE, then its user FOR SHARE.
   */
  findForRefresh(tokenHash: string): Promise<RefreshFacts | null>;
  /** Inserts the successor, marks the parent used (pointing at it) and touches the session: one statement. */
  rotate(input: {
    readonly successor: NewRefreshToken & { readonly parentId: string };
    readonly successorSealed: string;
    readonly usedAt: Date;
  }): Promise<void>;
  findById(id: string): Promise<RefreshTokenRecord | null>;
  /** Revokes every unrevoked token of a session (and drops its sealed successors); returns how many. */
  revokeBySession(sessionId: string, at: Date): Promise<number>;
  /** Revokes every unrevoked token of a user's sessions, except one session's; returns how many. */
  revokeByUser(userId: string, at: Date, exceptSessionId?: string): Promise<number>;
  /**
   * Drops the sealed successor of at most `limit` tokens used before `usedBefore`
   * (their reuse interval is over: nothing may open them any more); returns how many.
   */
  clearSealedSuccessors(usedBefore: Date, limit: number): Promise<number>;
  /** Live tokens (unused, unrevoked, unexpired, in an active session), of one user or all. */
  countLive(now: Date, userId?: string): Promise<number>;
}

export interface AuditEntry {
  readonly occurredAt: Date;
  readonly actor: string;
  readonly action: string;
  readonly userId: string | null;
  readonly reason: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface AuditRecord extends AuditEntry {
  readonly id: string;
}

export interface AuditRepository {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first; the cursor is opaque to callers. */
  list(filter: {
    readonly action?: string;
    readonly userId?: string;
    readonly since?: Date;
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Page<AuditRecord>>;
}

export interface OutboxEvent {
  readonly id: string;
  readonly type: string;
  readonly occurredAt: Date;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface OutboxRepository {
  append(event: OutboxEvent): Promise<void>;
}

export type SigningKeyStatus = 'active' | 'verifying' | 'retired';

/** A signing key as operators see it: never its private part. */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly algorithm: string;
  /** `verifying` only while its window lasts; a lapsed verifying key is reported `retired`. */
  readonly status: SigningKeyStatus;
  readonly createdAt: Date;
  /** When it stopped signing. */
  readonly deactivatedAt: Date | null;
  /** When it stopped verifying (retired, or its verifying window ended). */
  readonly retiredAt: Date | null;
  /** For a verifying key: deactivatedAt + the access-token TTL, when it stops verifying. */
  readonly verifiesUntil: Date | null;
}

export interface SigningKeyRotation {
  /** The key that was active before, if there was one. */
  readonly previousKid: string | null;
  readonly newKid: string;
  /** Keys retired outright by this rotation (only with `retireOthers`). */
  readonly retiredKids: readonly string[];
}

export type SigningKeyRetirement =
  | {
      readonly outcome: 'retired';
      readonly previousStatus: 'active' | 'verifying';
      /** The key made active in its place (only when an active key was retired with `replace`). */
      readonly newKid: string | null;
    }
  | { readonly outcome: 'already_retired'; readonly retiredAt: Date | null }
  | { readonly outcome: 'not_found' }
  /** The key is the active one and no replacement was asked for. */
  | { readonly outcome: 'active_key' };

/** Signing keys; generating a key happens inside the transaction that stores it. */
export interface SigningKeyRepository {
  /**
   * Generates a new Ed25519 key and makes it active. The previous active key turns
   * `verifying` (it stopped signing now), or with `retireOthers` it and every
   * verifying key are retired at once.
   */
  rotate(now: Date, options?: { readonly retireOthers?: boolean }): Promise<SigningKeyRotation>;
  /** Retires a key at once; refuses the active key unless `replace` creates a new active one. */
  retire(kid: string, now: Date, options?: { readonly replace?: boolean }): Promise<SigningKeyRetirement>;
  /** Every key, newest first, with statuses as of `now`. */
  list(now: Date): Promise<readonly SigningKeyRecord[]>;
}

/** Everything a unit of work can touch, bound to one transaction (or none, for reads). */
export interface Repositories {
  readonly users: UserRepository;
  readonly securityConfig: SecurityConfigRepository;
  readonly sessions: SessionRepository;
  readonly refreshTokens: RefreshTokenRepository;
  readonly audit: AuditRepository;
  readonly outbox: OutboxRepository;
  readonly signingKeys: SigningKeyRepository;
}
