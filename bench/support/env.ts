/**
 * What every benchmark shares: the machine line, the load average next to each
 * figure, scratch databases (PostgreSQL databases created and dropped, PGlite temp
 * dirs), and the writer that puts a table into docs/BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg, type as osType, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';

const ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const BENCHMARKS_MD = new URL('../../docs/BENCHMARKS.md', import.meta.url);

/** `load 0.42` — the 1-minute load average, recorded next to every figure. */
/**
 * argon2id at its cheapest, for benchmarks that log users in to get tokens: the figure under
 * test is never the password check (`bench/access-and-login.ts` prices that on its own).
 */
export const CHEAP_ARGON2_ENV = {
  TOKENWARDEN_ARGON2_MEMORY_KIB: '1024',
  TOKENWARDEN_ARGON2_ITERATIONS: '1',
} as const;

export function load(): string {
  return `load ${loadavg()[0]?.toFixed(2)}`;
}

/** The commit the figures were taken at, `+ changes` when the tree differs from it. */
function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    }).trim();
    return `commit ${head}${dirty === '' ? '' : ' + changes'}`;
  } catch {
    return 'commit unknown';
  }
}

/**
 * The line printed beside every table: CPU model and cores, RAM, OS kernel, Node, the
 * PostgreSQL server's version, PGlite's, pgbench's, and the commit.
 */
export async function machine(): Promise<string> {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  let postgres = 'unreachable';
  const client = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await client.connect();
    postgres = ((await client.query('show server_version')).rows[0] as { server_version: string })
      .server_version;
  } catch {
    // Reported as unreachable.
  } finally {
    await client.end().catch(() => {});
  }
  const pgliteDir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  const pglite = (
    JSON.parse(
      await readFile(join(pgliteDir.slice(0, pgliteDir.lastIndexOf('pglite') + 6), 'package.json'), 'utf8'),
    ) as {
      version: string;
    }
  ).version;
  let pgbench = 'not installed';
  try {
    pgbench = execFileSync('pgbench', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // Reported as not installed.
  }
  return (
    `${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${osType()} ${release()}, ` +
    `Node ${process.version}, PostgreSQL ${postgres}, PGlite ${pglite}, ${pgbench}, ${commit()}`
  );
}

export interface ScratchPostgres {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A PostgreSQL database of its own, dropped by `drop()`. */
export async function scratchPostgres(tag: string): Promise<ScratchPostgres> {
  const name = `tw_bench_${tag}_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

export async function scratchDir(): Promise<{ readonly dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-bench-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export type Row = readonly (string | number)[];

export function table(header: Row, rows: readonly Row[]): string {
  const line = (cells: Row) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** 12345.6 → "12 346" */
export function int(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

export function ms(n: number): string {
  return n < 10 ? `${n.toFixed(2)} ms` : `${n.toFixed(1)} ms`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/**
 * Replaces the section between `<!-- bench:<id> -->` and `<!-- /bench:<id> -->` in
 * docs/BENCHMARKS.md, or appends it: a rerun updates its own section, never duplicates it.
 */
export async function writeSection(id: string, markdown: string): Promise<void> {
  const start = `<!-- bench:${id} -->`;
  const end = `<!-- /bench:${id} -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const doc = await readFile(BENCHMARKS_MD, 'utf8');
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  const next =
    from >= 0 && to > from
      ? `${doc.slice(0, from)}${block}${doc.slice(to + end.length)}`
      : `${doc.trimEnd()}\n\n${block}\n`;
  await writeFile(BENCHMARKS_MD, next);
}

export function parseFlags(argv: readonly string[]): { readonly quick: boolean; readonly write: boolean } {
  return { quick: argv.includes('--quick'), write: !argv.includes('--no-write') };
}

/** The value after `--name` on the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** `--name K=V,K=V` as a record (pairs without `=` are ignored; a value may contain `=`). */
export function keyValues(name: string): Record<string, string> {
  return Object.fromEntries(
    arg(name, '')
      .split(',')
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}
