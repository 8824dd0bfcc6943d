import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

interface Manifest {
  readonly workspaces?: readonly string[];
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

interface Lock {
  readonly packages: Readonly<
    Record<string, { readonly version?: string; readonly engines?: Readonly<Record<string, string>> }>
  >;
}

const read = async <T>(path: string): Promise<T> =>
  JSON.parse(await readFile(new URL(`../../${path}`, import.meta.url), 'utf8')) as T;

/** The lowest Node major a `node` engines range admits (its first number, for the ranges npm packages use). */
function lowestMajor(range: string): number {
  return Number(/\d+/.exec(range)?.[0] ?? 0);
}

describe('the benchmark peer (bench/peer, better-auth)', () => {
  it('is a package of its own with exact pins, not a root dependency nor a workspace', async () => {
    const root = await read<Manifest>('package.json');
    const peer = await read<Manifest>('bench/peer/package.json');
    expect(root.workspaces ?? []).not.toContain('bench/peer');
    expect(Object.keys({ ...root.dependencies, ...root.devDependencies })).not.toContain('better-auth');
    expect(Object.keys(peer.dependencies ?? {})).toContain('better-auth');
    for (const [name, version] of Object.entries(peer.dependencies ?? {})) {
      expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it('has a lockfile matching its manifest, whose packages all run on Node 20', async () => {
    const peer = await read<Manifest>('bench/peer/package.json');
    const lock = await read<Lock>('bench/peer/package-lock.json');
    for (const [name, version] of Object.entries(peer.dependencies ?? {})) {
      expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(version);
    }
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = entry.engines?.node;
      if (range === undefined) continue;
      // Node 20 is the root's floor: some Node 20 release must run every package.
      expect(lowestMajor(range), `${path}: ${range}`).toBeLessThanOrEqual(20);
    }
  });
});
