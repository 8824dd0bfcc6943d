/**
 * Invalidate every refresh token in the system (docs/DESIGN.md §2): the seed's command,
 * plus an optional grace period for this rotation. Its dry run is the query
 * PreviewGlobalRotationQuery.
 *
 * @example
 * const command = TriggerGlobalTokenRotation({ triggeredBy: adminId, reason: 'Database breach detected' });
 * const result = await handler.handle(command);
 */
export interface TriggerGlobalTokenRotation {
  /** The admin's user id, or `cli:<os user>`. */
  readonly triggeredBy: string;
  readonly reason: string;
  /** Overrides the configured grace period for this rotation only. */
  readonly gracePeriodSeconds?: number;
  /**
   * Also retire the signing key (and any still verifying) and make a new one, in the
   * same transaction: every access token dies at once, grace or not. For a flaw in
   * token generation or a leaked signing key.
   */
  readonly rotateSigningKey?: boolean;
}

export const TriggerGlobalTokenRotation = (fields: TriggerGlobalTokenRotation): TriggerGlobalTokenRotation =>
  Object.freeze({ ...fields });
