/**
 * Told after a change has committed, so caches of versions and session state (this
 * instance's and, through pub/sub, other instances') drop what they hold. Called
 * only after commit: telling earlier would let another instance re-cache the old rows.
 */
export interface VersionChangeListener {
  globalVersionChanged(newVersion: number): void;
  userVersionChanged(userId: string, newVersion: number): void;
  /** The user's state changed otherwise (disabled, role). */
  userChanged(userId: string): void;
  sessionRevoked(sessionId: string): void;
  /** Every session of one user was revoked. */
  userSessionsRevoked(userId: string): void;
  /** A signing key was added, rotated out or retired. */
  signingKeysChanged(): void;
  /** A service client was revoked: every instance ends the revocation streams it opened. */
  serviceClientRevoked(clientId: string): void;
}
