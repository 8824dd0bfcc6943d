/**
 * The highest versions this instance knows were in force (docs/DESIGN.md §7): read from
 * the database, stamped into a token it issued, or carried by a validly signed token.
 * Versions only grow, so a database that shows less has lost writes.
 */
export interface VersionHighWaterMark {
  /** The highest global version known to have been in force (0 when none yet). */
  global(): number;
  /** Records a global version that was in force; shared with other instances when new. */
  observeGlobal(version: number): void;
  /** The highest minimum version known for this user (0 when not remembered: memory is bounded). */
  user(userId: string): number;
  observeUser(userId: string, version: number): void;
  /**
   * Brings in what other instances (or an earlier run) recorded, once per global version
   * the database shows: cheap when nothing changed, bounded in time, and never rejects
   * (an unreachable store leaves what is in memory).
   */
  reconcile(databaseVersion: number): Promise<void>;
}
