import type { Role } from '../../domain/user.js';
import type { SecurityConfig } from '../../domain/versions.js';

/** What the bearer check needs of a user: its versions and whether it may act, nothing more. */
export interface UserAccessState {
  readonly id: string;
  readonly role: Role;
  readonly minTokenVersion: number;
  readonly disabledAt: Date | null;
}

/** What the bearer check needs of a session. */
export interface SessionAccessState {
  readonly id: string;
  readonly userId: string;
  readonly revokedAt: Date | null;
  /** Its absolute age: no access token outlives it. */
  readonly expiresAt: Date;
}

export interface AccessState {
  readonly config: SecurityConfig;
  readonly user: UserAccessState | null;
  readonly session: SessionAccessState | null;
}

/**
 * The current versions and user/session state an access token is held against.
 * Implementations may cache; they must forget what a committed change made stale
 * (the composition root pairs the cache with the {@link VersionChangeListener}).
 */
export interface AccessStateReader {
  /**
   * `userId` and `sessionId` as the token claims them (`sub`, `sid`). `fresh` skips
   * what is cached of the user and the versions (a stamp above them may only mean
   * this instance has not heard of a rotation yet).
   */
  read(userId: string, sessionId: string, options?: { readonly fresh?: boolean }): Promise<AccessState>;
}
