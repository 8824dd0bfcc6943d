/**
 * Make a new signing key active. The previous one keeps verifying until the access
 * tokens it signed have expired, then drops out of the JWKS.
 *
 * @example
 * const result = await services.rotateSigningKey.handle(RotateSigningKey({ actor: 'cli:alice' }));
 */
export interface RotateSigningKey {
  /** The admin's user id, or `cli:<os user>`. */
  readonly actor: string;
  /** Why, for the audit log; optional, trimmed, at most 500 characters. */
  readonly reason?: string;
}

export const RotateSigningKey = (fields: RotateSigningKey): RotateSigningKey => Object.freeze({ ...fields });
