/**
 * Enable a disabled account again. Its tokens from before stay dead: enabling also
 * rotates the user's tokens, so whatever an attacker held while the account was
 * disabled does not come back to life with it. The owner logs in afresh.
 *
 * @example
 * const command = EnableUser({ userId, actor: 'cli:alice', reason: 'owner verified' });
 */
export interface EnableUser {
  readonly userId: string;
  /** An admin's user id, `system` or `cli:<os user>`. */
  readonly actor: string;
  readonly reason: string | null;
}

export const EnableUser = (fields: EnableUser): EnableUser => Object.freeze({ ...fields });
