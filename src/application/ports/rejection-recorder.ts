/** One request refused because a rotation made its token too old (docs/DESIGN.md §1). */
export interface RotationRejection {
  readonly tokenKind: 'refresh' | 'access';
  readonly rejection: 'global_rotation' | 'user_rotation';
  readonly userId: string;
}

/**
 * Counts rotation rejections in memory. The infrastructure side rolls them up into
 * one `TokenRejectedDueToRotation` outbox event per interval, so a flood of rejected
 * requests after a rotation does not become a flood of database writes.
 * `record` never waits and never fails.
 */
export interface RejectionRecorder {
  record(rejection: RotationRejection): void;
}
