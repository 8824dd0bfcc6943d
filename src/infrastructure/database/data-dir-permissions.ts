import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Group and others: any of read, write, execute. */
const OPEN_BITS = 0o077;
/** Group and others: write. */
const WRITABLE_BITS = 0o022;

/** What {@link findOpenEntries} found: the first entry open to others, and how many are. */
export interface OpenDataDir {
  readonly path: string;
  readonly mode: number;
  readonly open: number;
  readonly total: number;
}

/**
 * The data directory holds private signing keys and refresh-token hashes. Reported: the
 * directory itself when group or others have any permission on it, or any entry in it that
 * they may write. Entries they may only read, inside a directory closed to them, are out of
 * their reach, and PGlite itself writes some that way on every run (pg_internal.init): those
 * are closed by {@link closeToOthers} rather than reported. Symbolic links are not followed.
 *
 * @example
 * const found = findOpenEntries('./.tokenwarden');
 * if (found !== null) logger.warn(describeOpenDataDir('./.tokenwarden', found));
 */
export function findOpenEntries(dir: string): OpenDataDir | null {
  const [root, ...below] = modes(dir);
  if (root === undefined) return null;
  const open = [root, ...below].filter(({ mode }) => (mode & OPEN_BITS) !== 0);
  const first = (root.mode & OPEN_BITS) !== 0 ? root : below.find(({ mode }) => (mode & WRITABLE_BITS) !== 0);
  return first === undefined ? null : { ...first, open: open.length, total: below.length + 1 };
}

/**
 * Removes group's and others' permissions from everything in the directory: for files
 * tokenwarden itself created (PGlite writes its initial files world-writable, 0666).
 *
 * @example
 * closeToOthers('./.tokenwarden');
 */
export function closeToOthers(dir: string): void {
  for (const { path, mode } of modes(dir)) {
    if ((mode & OPEN_BITS) === 0) continue;
    try {
      chmodSync(path, mode & 0o7700);
    } catch {
      // gone meanwhile, or not ours to change
    }
  }
}

/**
 * The one warning line for an open data directory: the path, its mode, and the fix.
 *
 * @example
 * describeOpenDataDir('./.tokenwarden', { path: '/srv/.tokenwarden', mode: 0o777, open: 1, total: 1 });
 */
export function describeOpenDataDir(dir: string, found: OpenDataDir): string {
  const root = resolve(dir);
  const others = found.open > 1 ? ` (${found.open} of ${found.total} entries are)` : '';
  return (
    `the data directory ${root} is open to other users: ${found.path} has mode ` +
    `${found.mode.toString(8).padStart(4, '0')}${others}; it holds private signing keys: ` +
    `restrict it with chmod -R go-rwx ${root}`
  );
}

/**
 * The directory and everything below it, the directory first, with their modes (symbolic
 * links left out). Synchronous on purpose: it runs at start and stop, when nothing is served,
 * and a thousand lstat calls take milliseconds so, against tens through the thread pool.
 */
function modes(dir: string): { readonly path: string; readonly mode: number }[] {
  const root = resolve(dir);
  const found: { path: string; mode: number }[] = [];
  const visit = (path: string): void => {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (stat === undefined || stat.isSymbolicLink()) return;
    found.push({ path, mode: stat.mode & 0o7777 });
    if (!stat.isDirectory()) return;
    let names: string[] = [];
    try {
      names = readdirSync(path);
    } catch {
      // unreadable: its own mode is reported
    }
    for (const name of names) visit(join(path, name));
  };
  visit(root);
  return found;
}
