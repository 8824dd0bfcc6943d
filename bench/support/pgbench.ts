/**
 * pgbench on tokens seeded for each run, in a database the server has migrated (the
 * `tokenwarden` schema). The refresh's own scripts are built from the repository's
 * statements (bench/support/refresh-statements.ts); the alternatives are files in bench/sql/.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pgbenchScriptFile } from './refresh-statements.js';
import { SCHEMA, seedPostgres } from './seed.js';

const run = promisify(execFile);

/** Tokens seeded per pgbench second: more than any run here commits, so none is drawn twice. */
const TOKENS_PER_SECOND = 5_000;
let seededUpTo = 0;

/** pgbench tps of `script` on tokens seeded for this run, in a database the server has migrated. */
export async function pgbench(
  url: string,
  script: string,
  clients: number,
  seconds: number,
  /** `prepared`: each statement parsed and planned once per connection, as the server's named statements. */
  mode: 'extended' | 'prepared' = 'extended',
  /** Wraps pgbench itself, the seeding before it left out (e.g. to sample CPU). */
  around: (run: () => Promise<number>) => Promise<number> = (run) => run(),
): Promise<number> {
  const base = seededUpTo;
  const count = Math.max(20_000, TOKENS_PER_SECOND * seconds);
  await seedForPgbench(url, base, count);
  seededUpTo = base + count;
  return around(() => runPgbench(url, script, clients, seconds, { base, count }, mode));
}

/** Seeds tokens `base+1 .. base+count` (hashes `md5(n) || md5(n+1)`) into a migrated database's tokenwarden schema. */
async function seedForPgbench(url: string, base: number, count: number): Promise<void> {
  await seedPostgres(url, base + 1, base + count, { create: false });
}

/** pgbench tps of `script` (see {@link pgbenchScriptFile}) on tokens `base+1 .. base+count` seeded by `seedForPgbench`. */
async function runPgbench(
  url: string,
  script: string,
  clients: number,
  seconds: number,
  tokens: { readonly base: number; readonly count: number },
  mode: 'extended' | 'prepared',
): Promise<number> {
  const { stdout } = await run(
    'pgbench',
    [
      '-n',
      '-M',
      mode,
      '-c',
      String(clients),
      '-j',
      '2',
      '-T',
      String(seconds),
      '-D',
      'i=0',
      '-D',
      `base=${tokens.base}`,
      '-D',
      `ntokens=${tokens.count}`,
      '-D',
      `clients=${clients}`,
      '-f',
      await pgbenchScriptFile(script),
      url,
    ],
    // The tables are in tokenwarden's schema, like the server's (TOKENWARDEN_DB_SCHEMA's default).
    { timeout: (seconds + 60) * 1000, env: { ...process.env, PGOPTIONS: `-c search_path=${SCHEMA}` } },
  );
  const match = /tps = ([\d.]+)/.exec(stdout);
  if (match?.[1] === undefined) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return Number(match[1]);
}
