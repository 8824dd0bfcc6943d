/**
 * The actor of the automatic rotation that raises a version the database lost
 * (docs/DESIGN.md §7): a failover to a standby that had not received every commit, or
 * a restore from a backup.
 */
export const REGRESSION_ACTOR = 'system:regression';

/**
 * How far above every version this instance knows a validly signed token's stamp may
 * be and still count as evidence that the database went back. A real loss is a few
 * seconds (a failover) or days (a backup) of rotations; a stamp further ahead than this
 * is refused as a forgery instead, so a stolen signing key cannot push the versions
 * towards the column's limit in one token (docs/DESIGN.md §7).
 */
const MAX_EVIDENCE_LEAD = 100;

/**
 * Whether a stamp above what is known may be taken as a version the database lost.
 *
 * @example
 * if (isCredibleEvidence(claims.gver, Math.max(config.globalMinTokenVersion, marks.global()))) marks.observeGlobal(claims.gver);
 */
export function isCredibleEvidence(stamp: number, known: number): boolean {
  return Number.isSafeInteger(stamp) && stamp > known && stamp - known <= MAX_EVIDENCE_LEAD;
}

/**
 * The reason recorded on the automatic rotation: which version was seen in force and
 * which lower one the database had.
 *
 * @example
 * regressionReason('global', 7, 5); // 'version regression: global version 7 was in force, the database had 5'
 */
export function regressionReason(scope: 'global' | 'user', seen: number, databaseHad: number): string {
  return `version regression: ${scope} version ${seen} was in force, the database had ${databaseHad}`;
}
