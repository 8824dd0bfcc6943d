import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, LOCK_FILE_NAME, lockDataDir } from './pglite-lock.js';

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
    expect((await readFile(join(dir, LOCK_FILE_NAME), 'utf8')).trim()).toBe(String(process.pid));
    await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirInUseError);
    await release();
    await release(); // twice is harmless
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false);
    const again = await lockDataDir(dir);
    await again();
  });

  it('refuses a directory another live process holds, naming it', async () => {
    // pid 1 (init) is always alive, and is not this test's worker.
    await writeFile(join(dir, LOCK_FILE_NAME), '1\n');
    await expect(lockDataDir(dir)).rejects.toThrow(/in use by process 1\b/);
  });

  it('takes over a lock whose process has died', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    await writeFile(join(dir, LOCK_FILE_NAME), `${dead.stdout.toString()}\n`);
    const release = await lockDataDir(dir);
    expect((await readFile(join(dir, LOCK_FILE_NAME), 'utf8')).trim()).toBe(String(process.pid));
    await release();
  });
});
