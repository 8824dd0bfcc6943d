/** Log one session out (its whole refresh-token family). */
export interface RevokeSession {
  readonly sessionId: string;
  /** When set, the session must belong to this user, else it is "not found". */
  readonly ownerId: string | null;
  readonly actor: string;
  readonly reason: string;
}

export const RevokeSession = (fields: RevokeSession): RevokeSession => Object.freeze({ ...fields });
