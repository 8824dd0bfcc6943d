import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configVariables } from './config.js';
import { loadEnvFile } from './env-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function directoryWith(envFile: string | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'tw-env-'));
  dirs.push(dir);
  if (envFile !== null) writeFileSync(join(dir, '.env'), envFile);
  return dir;
}

describe('.env', () => {
  it('adds what the environment does not set; the environment wins, an empty value included', () => {
    const dir = directoryWith(
      '# a comment\nPORT=4000\nHOST=0.0.0.0\nDATABASE_URL=postgres://u:p@db/x\nLOG_LEVEL="debug"\nTOKENWARDEN_ADMIN_PASSWORD=\'with # hash\'\n',
    );
    const env: Record<string, string | undefined> = { PORT: '5000', DATABASE_URL: '' };
    const outcome = loadEnvFile(env, dir);
    expect(outcome).toEqual({
      path: join(dir, '.env'),
      loaded: ['HOST', 'LOG_LEVEL', 'TOKENWARDEN_ADMIN_PASSWORD'],
      shadowed: ['PORT', 'DATABASE_URL'],
    });
    expect(env).toEqual({
      PORT: '5000',
      DATABASE_URL: '',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'debug',
      TOKENWARDEN_ADMIN_PASSWORD: 'with # hash',
    });
  });

  it('is optional: no file, nothing changes', () => {
    const env: Record<string, string | undefined> = { PORT: '1' };
    expect(loadEnvFile(env, directoryWith(null))).toEqual({ path: null, loaded: [], shadowed: [] });
    expect(env).toEqual({ PORT: '1' });
  });

  it('.env.example lists every variable once, with its default, and nothing else', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const lines = example.split('\n');
    const listed = new Map<string, string>();
    lines.forEach((line, i) => {
      const match = /^#([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      if (match === null) return;
      expect(listed.has(match[1]!), `${match[1]} listed twice`).toBe(false);
      listed.set(match[1]!, match[2]!);
      // Each has a line of meaning above it (or is one of a group under one).
      expect(lines[i - 1], `${match[1]} has no comment above it`).toMatch(/^#/);
    });
    const expected = new Map([...configVariables()].map(([name, value]) => [name, value ?? '']));
    expect(listed).toEqual(expected);
  });
});
