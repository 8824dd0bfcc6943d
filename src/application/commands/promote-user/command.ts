/**
 * Give an existing account the admin role: an explicit operator action, audited with
 * its reason. The user is rotated with it, so admin power comes only with a login made
 * after the promotion (no session from before, perhaps stolen, gains it).
 *
 * @example
 * const command = PromoteUser({ userId, actor: 'cli:alice', reason: 'new on-call admin' });
 */
export interface PromoteUser {
  readonly userId: string;
  /** An admin's user id, `system` or `cli:<os user>`. */
  readonly actor: string;
  /** Required, trimmed, 1–500 characters (as a rotation reason). */
  readonly reason: string;
}

export const PromoteUser = (fields: PromoteUser): PromoteUser => Object.freeze({ ...fields });
