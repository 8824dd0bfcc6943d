/**
 * Revoke a service client: its secret stops authenticating at once. Idempotent.
 *
 * @example
 * const command = RevokeServiceClient({ clientId, actor: 'cli:alice', reason: 'secret leaked' });
 */
export interface RevokeServiceClient {
  readonly clientId: string;
  /** An admin's user id, or `cli:<os user>`. */
  readonly actor: string;
  /** Why, for the audit log; optional, trimmed, at most 500 characters. */
  readonly reason?: string;
}

export const RevokeServiceClient = (fields: RevokeServiceClient): RevokeServiceClient =>
  Object.freeze({ ...fields });
