/**
 * Disable an account: its refresh and access tokens stop working and it can no
 * longer log in (docs/DESIGN.md §1, rule 2). Idempotent.
 *
 * @example
 * const command = DisableUser({ userId, actor: 'cli:alice', reason: 'account compromised' });
 */
export interface DisableUser {
  readonly userId: string;
  /** An admin's user id, `system` or `cli:<os user>`. */
  readonly actor: string;
  readonly reason: string | null;
}

export const DisableUser = (fields: DisableUser): DisableUser => Object.freeze({ ...fields });
