import { chmod, lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase } from './create-database.js';
import { migrateToLatest } from './migrator.js';

/** Every path under `root` (itself included) that group or others have any permission on. */
async function openToOthers(root: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (path: string): Promise<void> => {
    const stat = await lstat(path);
    if (stat.isSymbolicLink()) return;
    if ((stat.mode & 0o077) !== 0) found.push(`${path} ${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name));
  };
  await visit(root);
  return found;
}

describe('the PGlite data directory', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tw-data-dir-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is created owner-only (0700), with every file in it 0600, while open and after', async () => {
    const dataDir = join(root, 'data');
    const warnings: string[] = [];
    const handle = await createDatabase({ kind: 'pglite', dataDir, onWarning: (m) => warnings.push(m) });
    try {
      await migrateToLatest(handle.db);
      expect((await lstat(dataDir)).mode & 0o777).toBe(0o700);
      expect(await openToOthers(dataDir)).toEqual([]);
    } finally {
      await handle.close();
    }
    expect(await openToOthers(dataDir)).toEqual([]);
    // PGlite wrote hundreds of files: the check above saw them.
    expect((await readdir(join(dataDir, 'base'), { recursive: true })).length).toBeGreaterThan(100);
    // … and a restart keeps it so, with nothing to warn about.
    const again = await createDatabase({ kind: 'pglite', dataDir, onWarning: (m) => warnings.push(m) });
    await again.close();
    expect(await openToOthers(dataDir)).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('warns, naming the path, its mode and the fix, about an existing directory open to others', async () => {
    const dataDir = join(root, 'shared');
    // Not empty (an empty directory is taken as new, and made 0700): something of the operator's is in it.
    await mkdir(join(dataDir, 'notes'), { recursive: true });
    await chmod(dataDir, 0o777);
    const warnings: string[] = [];
    const handle = await createDatabase({ kind: 'pglite', dataDir, onWarning: (m) => warnings.push(m) });
    await handle.close();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${dataDir} has mode 0777`);
    expect(warnings[0]).toContain(`chmod -R go-rwx ${dataDir}`);
    // The operator's choice is left alone: warned about, not changed.
    expect((await lstat(dataDir)).mode & 0o777).toBe(0o777);
  });
});
