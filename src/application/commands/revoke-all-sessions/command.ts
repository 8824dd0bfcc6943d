/** Revoke every session of a user (rows, not versions: see TriggerUserTokenRotation for O(1)). */
export interface RevokeAllSessions {
  readonly userId: string;
  readonly actor: string;
  readonly reason: string;
  /** A session to keep, typically the caller's own. */
  readonly exceptSessionId?: string;
}

export const RevokeAllSessions = (fields: RevokeAllSessions): RevokeAllSessions =>
  Object.freeze({ ...fields });
