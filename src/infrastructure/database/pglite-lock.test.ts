import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, LOCK_FILE_NAME, lockDataDir } from './pglite-lock.js';

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
const CREATE_DATABASE = pathToFileURL(fileURLToPath(new URL('./create-database.ts', import.meta.url))).href;
/** The stale bound the child processes use: short, so that a takeover is quick to test. */
const STALE_MS = 1000;
const SLOW = 90_000;

/** The holder's PID: the file's first line, in both formats (PID alone, or PID then a JSON record). */
function holderPid(text: string): number {
  return Number.parseInt(text, 10);
}

/** The JSON record on the lock file's second line, or null in the PID-only format. */
function lockRecord(text: string): { readonly pidns?: string } | null {
  const json = text.slice(text.indexOf('\n') + 1).trim();
  return json === '' ? null : (JSON.parse(json) as { readonly pidns?: string });
}

describe('lockDataDir', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tw-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the directory until released, then lets the next one in', async () => {
    const release = await lockDataDir(dir);
    expect(holderPid(await readFile(join(dir, LOCK_FILE_NAME), 'utf8'))).toBe(process.pid);
    await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirInUseError);
    await release();
    await release(); // twice is harmless
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false);
    const again = await lockDataDir(dir);
    await again();
  });

  it('lets one of two concurrent attempts in the same process in, not both', async () => {
    const attempts = await Promise.allSettled([lockDataDir(dir), lockDataDir(dir)]);
    const won = attempts.filter((attempt) => attempt.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(attempts.find((attempt) => attempt.status === 'rejected')?.reason).toBeInstanceOf(
      DataDirInUseError,
    );
    await won[0]?.value();
  });

  it('refuses a directory another live process holds, naming it', async () => {
    // pid 1 (init) is always alive, and is not this test's worker.
    await writeFile(join(dir, LOCK_FILE_NAME), '1\n');
    await expect(lockDataDir(dir)).rejects.toThrow(/in use by process 1\b/);
  });

  it('takes over a lock whose process has died', async () => {
    await writeFile(join(dir, LOCK_FILE_NAME), `${deadPid()}\n`);
    const release = await lockDataDir(dir);
    expect(holderPid(await readFile(join(dir, LOCK_FILE_NAME), 'utf8'))).toBe(process.pid);
    await release();
  });
});

/**
 * Real processes opening one directory through createDatabase, as a server and a CLI (or two
 * containers on one volume) do. The holder's PID is made invisible to the second process: the
 * lock file is forged to say the holder lives in another PID namespace under a PID that here
 * is dead or another process, or the second process runs in a PID namespace of its own.
 */
describe('the data directory lock between processes that cannot see each other', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tw-lock-procs-'));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  });

  function open(mode: 'hold' | 'once', wrapper: readonly string[] = []): Opener {
    const opener = startOpener(dir, mode, wrapper);
    children.push(opener.child);
    return opener;
  }

  it(
    'refuses a live holder whose PID it sees as dead',
    async () => {
      const holder = open('hold');
      await until(() => holder.output().includes('held'), 'the holder to lock the directory');
      await forgeLock(dir, { pid: deadPid(), pidns: 'pid:[1]' });

      const second = open('once');
      const exit = await second.exit;
      expect(second.output()).toMatch(/refused data_dir_in_use .*is in use by process \d+/);
      expect(exit.code).toBe(2);
      // The holder goes on, undisturbed.
      expect(holder.child.exitCode).toBeNull();
      expect(lockRecord(await readFile(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({
        pidns: 'pid:[1]',
      });
    },
    SLOW,
  );

  it.skipIf(!canUnsharePid())(
    'refuses a live holder from a process in a PID namespace of its own (unshare)',
    async () => {
      const holder = open('hold');
      await until(() => holder.output().includes('held'), 'the holder to lock the directory');

      const second = open('once', ['unshare', '--pid', '--fork', '--mount-proc']);
      const exit = await second.exit;
      expect(second.output()).toMatch(/refused data_dir_in_use .*is in use by process \d+/);
      expect(exit.code).toBe(2);
      expect(holder.child.exitCode).toBeNull();
    },
    SLOW,
  );

  it(
    'takes over from a holder killed with SIGKILL within the stale bound, with no file deleted by hand',
    async () => {
      const holder = open('hold');
      await until(() => holder.output().includes('held'), 'the holder to lock the directory');
      holder.child.kill('SIGKILL');
      await holder.exit;
      // As a holder from another PID namespace leaves it: its PID here is someone else, alive (init).
      await forgeLock(dir, { pid: 1, pidns: 'pid:[1]' });

      const second = open('once');
      const exit = await second.exit;
      expect(second.output()).toMatch(/^held \d+/m);
      expect(exit.code).toBe(0);
      const tookMs = Number(/^held (\d+)/m.exec(second.output())?.[1]);
      // It watched the lock for the bound (not less: a live holder renews it in that time), and no longer.
      expect(tookMs).toBeGreaterThanOrEqual(STALE_MS * 0.9);
      expect(tookMs).toBeLessThan(STALE_MS + 3000);
      expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false); // released on close
    },
    SLOW,
  );

  it(
    'a holder paused past the stale bound loses the directory, and ends itself when it wakes',
    async () => {
      const holder = open('hold');
      await until(() => holder.output().includes('held'), 'the holder to lock the directory');
      const lock = join(dir, LOCK_FILE_NAME);
      holder.child.kill('SIGSTOP');
      try {
        await until(async () => Date.now() - (await stat(lock)).mtimeMs > STALE_MS, 'the lock to go stale');
        const second = open('hold');
        await until(() => second.output().includes('held'), 'the second process to take over');
        expect(holderPid(await readFile(lock, 'utf8'))).toBe(second.child.pid);
      } finally {
        holder.child.kill('SIGCONT');
      }
      const exit = await holder.exit;
      expect(exit.signal).toBe('SIGKILL');
      expect(holder.errors()).toMatch(/lost the lock on the data directory/);
    },
    SLOW,
  );
});

interface Opener {
  readonly child: ChildProcess;
  readonly exit: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  output(): string;
  errors(): string;
}

/** What each child runs: createDatabase on the directory, printing `held <ms>` or `refused <code> <message>`. */
const OPENER = `
const [moduleUrl, dataDir, mode, staleLockMs] = process.argv.slice(1);
const { createDatabase } = await import(moduleUrl);
const started = performance.now();
try {
  const handle = await createDatabase({ kind: 'pglite', dataDir, staleLockMs: Number(staleLockMs) });
  process.stdout.write('held ' + Math.round(performance.now() - started) + '\\n');
  if (mode === 'once') await handle.close();
  else setInterval(() => {}, 60_000);
} catch (error) {
  process.stdout.write('refused ' + error.code + ' ' + error.message + '\\n');
  process.exitCode = 2;
}
`;

function startOpener(dataDir: string, mode: 'hold' | 'once', wrapper: readonly string[]): Opener {
  const command = [
    ...wrapper,
    process.execPath,
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    OPENER,
    CREATE_DATABASE,
    dataDir,
    mode,
    String(STALE_MS),
  ];
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: REPOSITORY,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, exit, output: () => stdout, errors: () => stderr };
}

/**
 * Rewrites fields of the lock file in place, as another PID namespace's holder would have
 * written them (a lock file of the PID-only format gets the PID). The holder's heartbeat keeps
 * the fields it finds: checked after one heartbeat, and redone if a beat raced it.
 */
async function forgeLock(
  dataDir: string,
  fields: { readonly pid: number; readonly pidns: string },
): Promise<void> {
  const path = join(dataDir, LOCK_FILE_NAME);
  for (let attempt = 0; attempt < 5; attempt++) {
    const record = lockRecord(await readFile(path, 'utf8'));
    await writeFile(
      path,
      record === null ? `${fields.pid}\n` : `${fields.pid}\n${JSON.stringify({ ...record, ...fields })}\n`,
    );
    // Half the stale age, by the clock: the holder's heartbeat, if any, has rewritten it by then.
    await new Promise((resolve) => setTimeout(resolve, STALE_MS / 2));
    const now = await readFile(path, 'utf8');
    if (holderPid(now) === fields.pid && (record === null || lockRecord(now)?.pidns === fields.pidns)) return;
  }
  throw new Error('could not forge the lock file: the holder kept rewriting it');
}

function deadPid(): number {
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(dead.stdout.toString());
}

function canUnsharePid(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
}

function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  return expect.poll(condition, { timeout: timeoutMs, interval: 50, message: what }).toBe(true);
}
