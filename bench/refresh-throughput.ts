/**
 * Refresh throughput against the database limit.
 *
 *   npx tsx bench/refresh-throughput.ts [--db postgres|pglite] [--seconds 10] [--connections 16]
 *
 * tokenwarden side: a server in a child process (src/main.ts, PGlite in a temp
 * dir or a scratch PostgreSQL database), `connections + 8` sessions logged in, then
 * autocannon POSTs /api/v1/tokens on `connections` keep-alive connections. Every
 * answer carries the successor token, which goes back into a shared pool; each
 * request takes a token from the pool, so no token is presented twice and any
 * non-2xx is counted (and reported) rather than hidden.
 *
 * Database side: `pgbench -M extended -f bench/sql/refresh.sql` (the statements one
 * refresh commits, on seeded tokens) with the same number of connections.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { createDatabase } from '../src/infrastructure/database/create-database.js';
import { int, load, ms, parseFlags, scratchDir, scratchPostgres } from './support/env.js';
import { seedTokens } from './support/seed.js';
import { sessions, startServer } from './support/server.js';

const run = promisify(execFile);
const SPARE_SESSIONS = 8;
/** Server pool: the same number of PostgreSQL connections pgbench gets. */
const DEFAULT_POOL = 16;

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly total: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly load: string;
}

/** autocannon against POST /api/v1/tokens, every request with a fresh token. */
export async function loadRefresh(base: string, connections: number, seconds: number): Promise<LoadResult> {
  const pool = (await sessions(base, connections + SPARE_SESSIONS)).map((p) => p.refreshToken);
  const failures = { status: 0 };
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/api/v1/tokens',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => {
          const token = pool.shift();
          if (token === undefined) throw new Error('the token pool ran dry: too many failed refreshes');
          return { ...req, body: JSON.stringify({ refreshToken: token }) };
        },
        onResponse: (status, body) => {
          if (status === 200) pool.push((JSON.parse(body) as { refreshToken: string }).refreshToken);
          else failures.status++;
        },
      },
    ],
  });
  return {
    requestsPerSecond: result['2xx'] / seconds,
    total: result.requests.total,
    non2xx: Math.max(result.non2xx, failures.status),
    errors: result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    load: load(),
  };
}

export interface RefreshRun extends LoadResult {
  readonly database: 'postgres' | 'pglite';
  readonly connections: number;
  /** pgbench tps with the same connections (PostgreSQL only). */
  readonly pgbench: number | null;
  readonly pgbenchLoad: string | null;
}

export async function refreshThroughput(options: {
  readonly database: 'postgres' | 'pglite';
  readonly connections: number;
  readonly seconds: number;
  /** A checkout to start instead of this one (before/after figures). */
  readonly root?: string;
  readonly entry?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** pgbench script to hold it against; none skips pgbench. */
  readonly pgbenchScript?: string;
  readonly nodeArgs?: readonly string[];
}): Promise<RefreshRun> {
  const { database, connections, seconds } = options;
  const scratch = database === 'postgres' ? await scratchPostgres('refresh') : null;
  const dir = database === 'pglite' ? await scratchDir() : null;
  try {
    const server = await startServer({
      root: options.root,
      entry: options.entry,
      nodeArgs: options.nodeArgs,
      maxSeconds: seconds + 120,
      env: {
        ...(scratch !== null
          ? {
              DATABASE_URL: scratch.url,
              DATABASE_POOL_SIZE: String(DEFAULT_POOL),
              // Its own scratch database: tables in public, where pgbench's scripts and the seeding look.
              TOKENWARDEN_DB_SCHEMA: 'public',
            }
          : { TOKENWARDEN_DATA_DIR: dir?.dir ?? '' }),
        // Login cost is not what is measured here (see the login table): keep set-up short.
        TOKENWARDEN_ARGON2_MEMORY_KIB: '1024',
        TOKENWARDEN_ARGON2_ITERATIONS: '1',
        ...options.env,
      },
    });
    let result: LoadResult;
    try {
      result = await loadRefresh(server.base, connections, seconds);
    } finally {
      await server.stop();
    }
    let tps: number | null = null;
    let pgbenchLoad: string | null = null;
    if (scratch !== null && options.pgbenchScript !== undefined) {
      tps = await pgbench(scratch.url, options.pgbenchScript, connections, seconds);
      pgbenchLoad = load();
    }
    return { database, connections, ...result, pgbench: tps, pgbenchLoad };
  } finally {
    await scratch?.drop();
    await dir?.remove();
  }
}

const SEEDED = 20_000;

/** pgbench tps of `script` on seeded tokens in the database at `url`, which a server has migrated. */
export async function pgbench(
  url: string,
  script: string,
  clients: number,
  seconds: number,
): Promise<number> {
  await seedForPgbench(url);
  return runPgbench(url, script, clients, seconds);
}

/** Seeds the tokens the pgbench scripts name (`md5(n) || md5(n+1)`, n ≤ 20 000) into a migrated database. */
export async function seedForPgbench(url: string): Promise<void> {
  const database = await createDatabase({ kind: 'postgres', url, poolSize: 2 });
  try {
    await seedTokens(database.db, 1, SEEDED);
  } finally {
    await database.close();
  }
}

/** pgbench tps of `script` (a file in bench/sql/) on a database seeded by `seedForPgbench`. */
export async function runPgbench(
  url: string,
  script: string,
  clients: number,
  seconds: number,
): Promise<number> {
  const { stdout } = await run(
    'pgbench',
    [
      '-n',
      '-M',
      'extended',
      '-c',
      String(clients),
      '-j',
      '2',
      '-T',
      String(seconds),
      '-D',
      `ntokens=${SEEDED}`,
      '-f',
      fileURLToPath(new URL(`sql/${script}`, import.meta.url)),
      url,
    ],
    { timeout: (seconds + 60) * 1000 },
  );
  const match = /tps = ([\d.]+)/.exec(stdout);
  if (match?.[1] === undefined) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return Number(match[1]);
}

export function describe(run: RefreshRun): string[] {
  return [
    run.database === 'postgres' ? 'PostgreSQL' : 'PGlite',
    String(run.connections),
    int(run.requestsPerSecond),
    `${run.non2xx} / ${run.errors}`,
    ms(run.p50),
    ms(run.p99),
    run.pgbench === null ? '—' : int(run.pgbench),
    run.pgbench === null ? '—' : `${(run.requestsPerSecond / run.pgbench).toFixed(2)}×`,
    run.pgbenchLoad === null ? run.load : `${run.load}; pgbench ${run.pgbenchLoad}`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv);
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
  };
  const result = await refreshThroughput({
    database: arg('db', 'postgres') as 'postgres' | 'pglite',
    connections: Number(arg('connections', '16')),
    seconds: Number(arg('seconds', flags.quick ? '3' : '10')),
    pgbenchScript: arg('pgbench', 'refresh.sql'),
    root: process.argv.includes('--root') ? arg('root', '') : undefined,
  });
  console.log(JSON.stringify(result));
  console.log(describe(result).join(' | '));
}
