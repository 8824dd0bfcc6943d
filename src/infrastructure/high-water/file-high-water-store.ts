import { readFile, rename, writeFile } from 'node:fs/promises';
import type { HighWaterStore } from './version-marks.js';

/**
 * The global high-water mark in a small file beside PGlite's data directory (one
 * process: no one else to share with). Beside, not inside: a data directory restored
 * from a backup does not bring an old copy of it back. Written through a temporary file
 * and a rename, so a crash leaves the old value or the new one.
 *
 * @example
 * const store = new FileHighWaterStore(`${resolve(dataDir)}.high-water`);
 */
export class FileHighWaterStore implements HighWaterStore {
  constructor(private readonly path: string) {}

  async load(): Promise<number | null> {
    try {
      const value = Number.parseInt((await readFile(this.path, 'utf8')).trim(), 10);
      return Number.isSafeInteger(value) ? value : null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async save(version: number): Promise<void> {
    const stored = await this.load().catch(() => null);
    if (stored !== null && stored >= version) return;
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, `${version}\n`, { mode: 0o600 });
    await rename(temporary, this.path);
  }

  async close(): Promise<void> {}
}
