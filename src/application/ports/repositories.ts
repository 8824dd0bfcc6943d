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
  /** Sessions not revoked and not past their absolute age, newest first. */
  listActiveByUser(userId: string, now: Date): Promise<readonly SessionRecord[]>;
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
  findById(id: string): Promise<RefreshTokenRecord | null>;
  /** Revokes every unrevoked token of a session; returns how many. */
  revokeBySession(sessionId: string, at: Date): Promise<number>;
  /** Revokes every unrevoked token of a user's sessions, except one session's; returns how many. */
  revokeByUser(userId: string, at: Date, exceptSessionId?: string): Promise<number>;
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

/** Everything a unit of work can touch, bound to one transaction (or none, for reads). */
export interface Repositories {
  readonly users: UserRepository;
  readonly securityConfig: SecurityConfigRepository;
  readonly sessions: SessionRepository;
  readonly refreshTokens: RefreshTokenRepository;
  readonly audit: AuditRepository;
  readonly outbox: OutboxRepository;
}
