import { chmod, mkdir, readdir } from 'node:fs/promises';
import { closeToOthers, describeOpenDataDir, findOpenEntries } from './data-dir-permissions.js';
import { lockDataDir } from './pglite-lock.js';

export interface PreparedDataDir {
  /** Call once PGlite has opened the directory: closes to others what it created. */
  readonly opened: () => Promise<void>;
  /** Releases the lock (safe to call twice). */
  readonly release: () => Promise<void>;
}

/**
 * Makes a PGlite data directory ready to open: created owner-only (0700) when missing or
 * empty, locked to this process ({@link lockDataDir}), and checked for permissions that let
 * other users in (warned about, not changed: the operator may have meant them).
 *
 * @example
 * const dir = await prepareDataDir('./.tokenwarden', { onWarning: (m) => logger.warn(m) });
 * // … open PGlite on it …
 * await dir.opened();
 */
export async function prepareDataDir(
  dataDir: string,
  options: { readonly staleAfterMs?: number; readonly onWarning: (message: string) => void },
): Promise<PreparedDataDir> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // An empty directory (a fresh volume's mount point) is tokenwarden's to initialise.
  // (Not ours to change, e.g. a mount point owned by root: then it is warned about below.)
  if ((await readdir(dataDir)).length === 0) await chmod(dataDir, 0o700).catch(() => {});
  const unlock = await lockDataDir(dataDir, { staleAfterMs: options.staleAfterMs });
  const open = findOpenEntries(dataDir);
  if (open !== null) options.onWarning(describeOpenDataDir(dataDir, open));
  // PGlite writes its initial files 0666, and more files 0644 as it runs: in a directory its
  // operator has not left open, they are closed once it has opened, and again once it has closed.
  const close = () => {
    if (open === null) closeToOthers(dataDir);
  };
  let released = false;
  return {
    opened: async () => close(),
    release: async () => {
      if (!released) close();
      released = true;
      await unlock();
    },
  };
}
