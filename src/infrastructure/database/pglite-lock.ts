import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync, statSync, unlinkSync } from 'node:fs';
import { link, open, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';

export const LOCK_FILE_NAME = 'tokenwarden.lock';

/** How long a lock must stay unchanged before another process may take it over (docs/DEPLOYMENT.md, "The data directory's lock"). */
const DEFAULT_STALE_LOCK_MS = 10_000;

/** Who holds the directory, as the lock file says. */
interface Holder {
  readonly pid: number;
  readonly host: string | null;
}

/** Another live process has the PGlite data directory open. */
export class DataDirInUseError extends Error {
  readonly code = 'data_dir_in_use';

  constructor(dataDir: string, holder: Holder, staleAfterMs: number) {
    const where = holder.host === null || holder.host === hostname() ? '' : ` on host ${holder.host}`;
    super(
      `the data directory ${dataDir} is in use by ${holder.pid > 0 ? `process ${holder.pid}` : 'another process'} ` +
        `(a running server?)${where}: PGlite ` +
        `allows one process at a time, so stop it first, or use PostgreSQL (DATABASE_URL) to share the ` +
        `database; a lock left by a process that died is taken over by the next start once it has not been ` +
        `renewed for ${Math.ceil(staleAfterMs / 1000)} s`,
    );
    this.name = 'DataDirInUseError';
  }
}

export interface LockDataDirOptions {
  /**
   * A lock unchanged for this long is stale and taken over (default {@link DEFAULT_STALE_LOCK_MS});
   * the holder renews it five times as often.
   */
  readonly staleAfterMs?: number;
}

/**
 * What the lock file holds, as JSON on its second line; the first line is the PID alone, which
 * is all a version from before the heartbeat reads (it then still refuses a live holder that
 * it can see). Rewritten in place (same inode) on every heartbeat.
 */
interface LockRecord {
  /** Random per acquisition: a PID can be reused, or be some other process in another PID namespace. */
  readonly id: string;
  readonly pid: number;
  readonly host: string;
  /** With host and pidns: whether this process can judge `pid` at all (same kernel, same PID namespace). */
  readonly boot: string;
  readonly pidns: string;
  readonly beat: number;
  /** For operators reading the file; never compared with another host's clock. */
  readonly at: string;
}

interface Seen {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly text: string;
  /** Null when the text is not a lock record (being written without link(2), or damaged). */
  readonly record: LockRecord | { readonly legacyPid: number } | null;
}

interface HeldLock {
  readonly id: string;
  ino: number;
  readonly heartbeat: Worker;
}

/** Lock files this process holds, removed on exit even if nobody closed the database. */
const held = new Map<string, HeldLock>();
const acquiring = new Set<string>();
let exitHookInstalled = false;

/**
 * PGlite is one process's database: a second process opening the same directory would
 * work on its own copy of the pages and corrupt the files (PGlite's own postmaster.pid
 * does not stop it). This lock file does, also between processes that cannot see each
 * other's PIDs (containers sharing a volume, hosts sharing a network file system).
 *
 * The holder renews the file from a worker thread (a stalled event loop, e.g. a long
 * synchronous PGlite query, does not stop it). Another process refuses the directory when it
 * sees the file change; it takes the lock over when the file stays unchanged for
 * `staleAfterMs` by its own monotonic clock (no clocks of two hosts are ever compared), or at
 * once when the holder's PID is in its own PID namespace and dead. A holder that finds its
 * lock taken over (it was paused longer than the bound) kills itself before writing again.
 *
 * @example
 * const release = await lockDataDir('./.tokenwarden'); // throws DataDirInUseError when held
 * await release();
 * @returns a function that releases the lock (safe to call twice)
 */
export async function lockDataDir(
  dataDir: string,
  options: LockDataDirOptions = {},
): Promise<() => Promise<void>> {
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_LOCK_MS;
  const path = resolve(dataDir, LOCK_FILE_NAME);
  // This process's own lock (or one it is taking right now) would look like a previous life's.
  if (held.has(path) || acquiring.has(path)) {
    throw new DataDirInUseError(dataDir, { pid: process.pid, host: null }, staleAfterMs);
  }
  acquiring.add(path);
  try {
    return await acquire(dataDir, path, staleAfterMs);
  } finally {
    acquiring.delete(path);
  }
}

async function acquire(dataDir: string, path: string, staleAfterMs: number): Promise<() => Promise<void>> {
  const self = identity();
  const record: LockRecord = {
    id: randomBytes(16).toString('hex'),
    pid: process.pid,
    ...self,
    beat: 0,
    at: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 8; attempt++) {
    const ino = await create(path, record);
    if (ino !== null) return hold(path, record, ino, staleAfterMs);
    const seen = await read(path);
    if (seen === null) continue;
    const verdict = await judge(path, seen, self, staleAfterMs);
    if (verdict === 'changed') continue;
    if (verdict === 'stale') {
      await takeOver(path, seen, record.id);
      continue;
    }
    throw new DataDirInUseError(dataDir, verdict, staleAfterMs);
  }
  throw new Error(`could not lock the data directory ${dataDir}: ${path} keeps changing hands`);
}

/**
 * Creates the lock file with its content in one step: written aside, then hard-linked into
 * place (link(2) fails when the name exists, also on NFS). File systems without hard links
 * get an exclusive create, whose empty moment a reader takes for a live holder.
 * @returns the file's inode, or null when someone else's lock is there
 */
async function create(path: string, record: LockRecord): Promise<number | null> {
  const text = `${record.pid}\n${JSON.stringify(record)}\n`;
  const aside = `${path}.${record.id}.new`;
  const file = await open(aside, 'wx', 0o600);
  let ino: number;
  try {
    await file.writeFile(text);
    await file.sync();
    ino = (await file.stat()).ino;
  } finally {
    await file.close();
  }
  try {
    await link(aside, path);
    return ino;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return null;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw error;
  } finally {
    await unlink(aside).catch(() => {});
  }
  try {
    const file = await open(path, 'wx', 0o600);
    try {
      await file.writeFile(text);
      return (await file.stat()).ino;
    } finally {
      await file.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw error;
  }
}

/** Reads through open(2): on NFS that revalidates the cached attributes and data. */
async function read(path: string): Promise<Seen | null> {
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const stat = await file.stat();
    const text = await file.readFile('utf8');
    return { ino: stat.ino, mtimeMs: stat.mtimeMs, text, record: parse(text) };
  } finally {
    await file.close();
  }
}

function parse(text: string): Seen['record'] {
  // Before the heartbeat, the file held only the PID.
  if (/^\d+\s*$/.test(text)) return { legacyPid: Number.parseInt(text, 10) };
  try {
    const value = JSON.parse(text.slice(text.indexOf('\n') + 1)) as Partial<LockRecord>;
    if (typeof value.id === 'string' && Number.isSafeInteger(value.pid)) return value as LockRecord;
  } catch {
    // not (yet) a record
  }
  return null;
}

type Verdict = Holder | 'stale' | 'changed';

async function judge(path: string, seen: Seen, self: Identity, staleAfterMs: number): Promise<Verdict> {
  const record = seen.record;
  if (record !== null && 'legacyPid' in record) {
    // A holder from before the heartbeat never renews: only its PID can tell.
    const pid = record.legacyPid;
    return pid > 0 && pid !== process.pid && isAlive(pid) ? { pid, host: null } : 'stale';
  }
  if (record !== null && comparable(record, self)) {
    // Our own PID in a lock we do not hold is a file from a previous life (pid 1 in a container).
    if (record.pid === process.pid || !isAlive(record.pid)) return 'stale';
    // Same kernel, same clock: a fresh file from a live PID is its holder. An old one may be a reused PID.
    if (Date.now() - seen.mtimeMs < staleAfterMs) return { pid: record.pid, host: record.host };
  }
  return observe(path, seen, staleAfterMs);
}

/**
 * Watches the lock for `staleAfterMs`: a holder renews it five times in that span, so a change
 * means it is alive; no change means it is gone (or paused, and it will stop when it wakes).
 */
async function observe(path: string, first: Seen, staleAfterMs: number): Promise<Verdict> {
  const until = performance.now() + staleAfterMs;
  const poll = Math.max(25, Math.floor(staleAfterMs / 20));
  const holder: Holder =
    first.record !== null && 'id' in first.record
      ? { pid: first.record.pid, host: first.record.host }
      : { pid: 0, host: null };
  while (performance.now() < until) {
    await sleep(poll);
    const now = await read(path);
    if (now === null || now.ino !== first.ino) return 'changed';
    if (now.text !== first.text) {
      return now.record !== null && 'id' in now.record
        ? { pid: now.record.pid, host: now.record.host }
        : holder;
    }
  }
  return 'stale';
}

/**
 * Removes the stale file `seen`, and nothing else: it is renamed aside first (one taker wins
 * the rename), and put back when it turns out not to be the file judged stale (another taker
 * has already replaced it, or the holder renewed it at the last moment).
 */
async function takeOver(path: string, seen: Seen, id: string): Promise<void> {
  const aside = `${path}.${id}.stale`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await read(aside);
  if (moved !== null && (moved.ino !== seen.ino || moved.text !== seen.text)) {
    await link(aside, path).catch(() => {});
  }
  await unlink(aside).catch(() => {});
}

function hold(path: string, record: LockRecord, ino: number, staleAfterMs: number): () => Promise<void> {
  const heartbeat = new Worker(HEARTBEAT, {
    eval: true,
    // Plain CommonJS: none of the process's own flags (--input-type=module, a loader such as tsx).
    execArgv: [],
    workerData: { path, id: record.id, ino, intervalMs: Math.max(20, Math.floor(staleAfterMs / 5)) },
  });
  const lock: HeldLock = { id: record.id, ino, heartbeat };
  heartbeat.on('message', (message: { readonly ino: number }) => {
    lock.ino = message.ino;
  });
  // Without its heartbeat the lock goes stale and another process takes the directory over:
  // this one must not keep writing to it.
  heartbeat.on('error', (error) => {
    process.stderr.write(
      `tokenwarden: the data directory lock's heartbeat failed (${error.message}): exiting\n`,
    );
    process.kill(process.pid, 'SIGKILL');
  });
  heartbeat.unref();
  held.set(path, lock);
  installExitHook();
  return async () => {
    if (held.get(path) !== lock) return;
    held.delete(path);
    await heartbeat.terminate();
    removeIfOurs(path, lock);
  };
}

function removeIfOurs(path: string, lock: HeldLock): void {
  try {
    if (statSync(path).ino === lock.ino) unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * The heartbeat, in a worker thread: rewrites the lock in place every interval, after checking
 * that the file at the path is still this holder's. It recreates a lock deleted by hand; a lock
 * someone else holds now means this process was given up for dead: it ends itself at once,
 * since any further write would corrupt the other process's database.
 */
const HEARTBEAT = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { path, id, intervalMs } = workerData;
let ino = workerData.ino;
let beat = 0;
function lost(why) {
  try {
    fs.writeSync(2, 'tokenwarden: lost the lock on the data directory (' + why + '): this process was ' +
      'paused or stalled longer than the stale bound and another process has taken the directory over; ' +
      'exiting at once so that two processes never write the same database\\n');
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
}
function relink(text) {
  const aside = path + '.' + id + '.new';
  try {
    fs.writeFileSync(aside, text, { mode: 0o600, flag: 'w' });
    fs.linkSync(aside, path);
    ino = fs.statSync(aside).ino;
    parentPort.postMessage({ ino });
  } catch (error) {
    let now = -1;
    try { now = fs.statSync(path).ino; } catch {}
    if (error.code === 'EEXIST' && now !== -1 && now !== ino) lost('held by another process');
  } finally {
    try { fs.unlinkSync(aside); } catch {}
  }
}
let last = '';
function tick() {
  let fd;
  try {
    fd = fs.openSync(path, 'r+');
  } catch (error) {
    if (error.code === 'ENOENT' && last !== '') relink(last);
    return;
  }
  try {
    const stat = fs.fstatSync(fd);
    const text = fs.readFileSync(fd, 'utf8');
    let record = null;
    try { record = JSON.parse(text.slice(text.indexOf('\\n') + 1)); } catch {}
    if (stat.ino !== ino || record === null || record.id !== id) return lost('replaced');
    record.beat = ++beat;
    record.at = new Date().toISOString();
    last = record.pid + '\\n' + JSON.stringify(record) + '\\n';
    fs.writeSync(fd, last, 0);
    fs.ftruncateSync(fd, Buffer.byteLength(last));
  } catch {
    // An I/O hiccup: the next beat tries again.
  } finally {
    try { fs.closeSync(fd); } catch {}
  }
}
tick();
setInterval(tick, intervalMs);
`;

interface Identity {
  readonly host: string;
  readonly boot: string;
  readonly pidns: string;
}

let cachedIdentity: Identity | undefined;

/** Where this process's PIDs mean something: the host, its boot, the PID namespace (Linux). */
function identity(): Identity {
  cachedIdentity ??= {
    host: hostname(),
    boot: attempt(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()),
    pidns: attempt(() => readlinkSync('/proc/self/ns/pid')),
  };
  return cachedIdentity;
}

function attempt(read: () => string): string {
  try {
    return read();
  } catch {
    return '';
  }
}

function comparable(record: LockRecord, self: Identity): boolean {
  return record.host === self.host && record.boot === self.boot && record.pidns === self.pidns;
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
    for (const [path, lock] of held) removeIfOurs(path, lock);
  });
}
