/** Change the default grace period of future global rotations (audited). */
export interface UpdateSecurityConfig {
  readonly gracePeriodSeconds: number;
  readonly actor: string;
}

export const UpdateSecurityConfig = (fields: UpdateSecurityConfig): UpdateSecurityConfig =>
  Object.freeze({ ...fields });
