/** Change the password: this device gets a new pair, every other device is logged out. */
export interface ChangePassword {
  readonly userId: string;
  /** The session of the device asking; it stays signed in. */
  readonly sessionId: string;
  readonly currentPassword: string;
  readonly newPassword: string;
}

export const ChangePassword = (fields: ChangePassword): ChangePassword => Object.freeze({ ...fields });
