import { unlinkSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const LOCK_FILE_NAME = 'tokenwarden.lock';

/** Another live process has the PGlite data directory open. */
export class DataDirInUseError extends Error {
  readonly code = 'data_dir_in_use';

  constructor(dataDir: string, pid: number) {
    super(
      `the data directory ${dataDir} is in use by process ${pid} (a running server?): PGlite allows one ` +
        `process at a time, so stop it first, or use PostgreSQL (DATABASE_URL) to share the database; if no ` +
        `such process is tokenwarden, delete ${join(dataDir, LOCK_FILE_NAME)}`,
    );
    this.name = 'DataDirInUseError';
  }
}

/** Lock files this process holds, removed on exit even if nobody closed the database. */
const held = new Set<string>();
let exitHookInstalled = false;

/**
 * PGlite is one process's database: a second process opening the same directory would
 * work on its own copy of the pages and corrupt the files (PGlite's own postmaster.pid
 * does not stop it). This lock file does. A lock whose process has died is taken over.
 *
 * @example
 * const release = await lockDataDir('./.tokenwarden'); // throws DataDirInUseError when taken
 * await release();
 * @returns a function that releases the lock (safe to call twice)
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = resolve(dataDir, LOCK_FILE_NAME);
  if (held.has(path)) throw new DataDirInUseError(dataDir, process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const file = await open(path, 'wx');
      try {
        await file.writeFile(`${process.pid}\n`);
      } finally {
        await file.close();
      }
      held.add(path);
      installExitHook();
      return async () => {
        if (!held.delete(path)) return;
        await unlink(path).catch(() => {});
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      // Our own pid in a lock we do not hold is a stale file from a previous life (pid 1 in a container).
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirInUseError(dataDir, holder);
      }
      await unlink(path).catch((cause: NodeJS.ErrnoException) => {
        if (cause.code !== 'ENOENT') throw cause;
      });
    }
  }
  throw new Error(`could not lock the data directory ${dataDir}: ${path} keeps reappearing`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const path of held) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  });
}
