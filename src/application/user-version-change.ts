import type { UserRecord } from '../domain/user.js';
import type { AppContext } from './context.js';

/**
 * What a change to one user that also rotates their tokens answers (enabling them,
 * promoting them): their token version after it.
 */
export interface UserVersionChange {
  readonly userId: string;
  /** The user's token version after the change (unchanged when `changed` is false). */
  readonly minTokenVersion: number;
  /** False when there was nothing to change: nothing was written. */
  readonly changed: boolean;
}

/** Nothing to change: the user's version as it is. */
export function versionUnchanged(user: UserRecord): UserVersionChange {
  return { userId: user.id, minTokenVersion: user.minTokenVersion, changed: false };
}

/** Changed: the version the increment returned (null: the row was gone, so the version read). */
export function versionChanged(
  user: UserRecord,
  versions: { readonly newVersion: number } | null,
): UserVersionChange {
  return { userId: user.id, minTokenVersion: versions?.newVersion ?? user.minTokenVersion, changed: true };
}

/** Tells running instances (their access-state caches) that such a change committed. */
export function announceVersionChange(
  ctx: Pick<AppContext, 'versionListener'>,
  change: UserVersionChange,
): void {
  if (!change.changed) return;
  ctx.versionListener.userVersionChanged(change.userId, change.minTokenVersion);
  ctx.versionListener.userChanged(change.userId);
}
