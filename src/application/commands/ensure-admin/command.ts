/** Make sure an admin account exists for this email (start-up bootstrap; idempotent). */
export interface EnsureAdmin {
  readonly email: string;
  readonly password: string;
  readonly actor: string;
}

export const EnsureAdmin = (fields: EnsureAdmin): EnsureAdmin => Object.freeze({ ...fields });
