export type SigningKeyStatus = 'active' | 'verifying' | 'retired';

/** A signing key as operators see it: never its private part. */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly algorithm: string;
  /** `verifying` only while its window lasts; a lapsed verifying key is reported `retired`. */
  readonly status: SigningKeyStatus;
  readonly createdAt: Date;
  /** When it stopped signing. */
  readonly deactivatedAt: Date | null;
  /** When it stopped verifying (retired, or its verifying window ended). */
  readonly retiredAt: Date | null;
  /** For a verifying key: deactivatedAt + the access-token TTL, when it stops verifying. */
  readonly verifiesUntil: Date | null;
}
