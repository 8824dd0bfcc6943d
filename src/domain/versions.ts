/** The versions a token was stamped with at issuance (docs/DESIGN.md §1). */
export interface VersionStamp {
  readonly userVersion: number;
  readonly globalVersion: number;
}

/** The singleton row that global rotation moves. */
export interface SecurityConfig {
  readonly globalMinTokenVersion: number;
  readonly gracePeriodSeconds: number;
  readonly lastRotationAt: Date | null;
  readonly lastRotationReason: string | null;
  readonly graceUntil: Date | null;
  readonly updatedAt: Date;
}

const MIN_GRACE_PERIOD_SECONDS = 0;
export const MAX_GRACE_PERIOD_SECONDS = 86_400;
export const REASON_MAX_LENGTH = 500;

export function isValidGracePeriod(seconds: number): boolean {
  return (
    Number.isInteger(seconds) && seconds >= MIN_GRACE_PERIOD_SECONDS && seconds <= MAX_GRACE_PERIOD_SECONDS
  );
}

/** The end of the grace window a global rotation at `rotatedAt` opens. */
export function graceUntil(rotatedAt: Date, gracePeriodSeconds: number): Date {
  return new Date(rotatedAt.getTime() + gracePeriodSeconds * 1000);
}
