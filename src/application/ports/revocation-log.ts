/** The kinds of change the revocation feed carries: each makes some access tokens invalid. */
export type RevocationKind =
  | 'global_version'
  | 'user_version'
  | 'user_disabled'
  | 'user_enabled'
  | 'session_revoked'
  | 'signing_key_retired'
  | 'signing_key_rotated';

/** One committed row of the feed; `seq` orders them by commit. */
export interface RevocationChange {
  readonly seq: number;
  readonly kind: RevocationKind;
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly kid: string | null;
  /** Versions, graceUntil, the replacing kid…: what the kind needs (docs/VERIFIER.md, "The revocation feed"). */
  readonly details: Readonly<Record<string, unknown>>;
  readonly occurredAt: Date;
}

/**
 * The feed's read side. The rows are written by the repositories that make the
 * changes, in the same transaction, so no command can change a version without one.
 */
export interface RevocationLogRepository {
  /** The highest committed seq (0 when the log is empty); every lower seq is committed too. */
  lastSeq(): Promise<number>;
  /** Changes with `after < seq <= upTo` that occurred at or after `since`, oldest first. */
  listAfter(input: {
    readonly after: number;
    readonly upTo: number;
    readonly since: Date;
    readonly limit: number;
  }): Promise<readonly RevocationChange[]>;
}
