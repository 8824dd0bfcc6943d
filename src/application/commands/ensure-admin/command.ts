/**
 * Make sure the admin named by the environment exists and can log in with the given
 * password (start-up bootstrap; idempotent). It never hands admin to an account whose
 * password does not verify.
 */
export interface EnsureAdmin {
  readonly email: string;
  readonly password: string;
  readonly actor: string;
}

export const EnsureAdmin = (fields: EnsureAdmin): EnsureAdmin => Object.freeze({ ...fields });
