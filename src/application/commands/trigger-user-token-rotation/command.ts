/**
 * Invalidate every token of one user (docs/DESIGN.md §2): an admin's call, the user's own
 * "log out everywhere", or automatically on password change. Its dry run is the
 * query PreviewUserRotationQuery.
 *
 * @example
 * const command = TriggerUserTokenRotation({ userId, triggeredBy: userId, reason: 'log out everywhere' });
 */
export interface TriggerUserTokenRotation {
  readonly userId: string;
  /** The admin's or the user's own id, or `cli:<os user>`. */
  readonly triggeredBy: string;
  readonly reason: string;
}

export const TriggerUserTokenRotation = (fields: TriggerUserTokenRotation): TriggerUserTokenRotation =>
  Object.freeze({ ...fields });
