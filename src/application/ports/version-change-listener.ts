/**
 * Told after a rotation has committed, so caches of versions (this instance's and,
 * through pub/sub, other instances') can drop what they hold.
 */
export interface VersionChangeListener {
  globalVersionChanged(newVersion: number): void;
  userVersionChanged(userId: string, newVersion: number): void;
}

export const noopVersionChangeListener: VersionChangeListener = {
  globalVersionChanged() {},
  userVersionChanged() {},
};
