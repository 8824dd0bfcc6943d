/**
 * Stop a signing key at once: tokens it signed are refused from now on. The active
 * key is refused unless `replace` makes a new active key in the same transaction.
 *
 * @example
 * await services.retireSigningKey.handle(RetireSigningKey({ kid, actor: 'cli:alice', reason: 'key leaked' }));
 */
export interface RetireSigningKey {
  readonly kid: string;
  /** The admin's user id, or `cli:<os user>`. */
  readonly actor: string;
  /** Why, for the audit log; optional, trimmed, at most 500 characters. */
  readonly reason?: string;
  /** Allow retiring the active key by creating its replacement first (same transaction). */
  readonly replace?: boolean;
}

export const RetireSigningKey = (fields: RetireSigningKey): RetireSigningKey => Object.freeze({ ...fields });
