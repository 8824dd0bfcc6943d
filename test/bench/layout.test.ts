import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const BENCH = new URL('../../bench/', import.meta.url);

describe('bench/', () => {
  it('keeps what benchmarks share in bench/support/: no benchmark imports another (the suite, run.ts, runs them all)', async () => {
    const entries = (await readdir(BENCH)).filter((file) => file.endsWith('.ts') && file !== 'run.ts');
    expect(entries.length).toBeGreaterThan(0);
    for (const file of entries) {
      const text = await readFile(new URL(file, BENCH), 'utf8');
      const siblings = [...text.matchAll(/from '\.\/([^/']+)'/g)].map((m) => m[1]);
      expect(siblings, file).toEqual([]);
    }
  });
});
