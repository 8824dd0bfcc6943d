/**
 * Refresh throughput against the database limit.
 *
 *   npx tsx bench/refresh-throughput.ts [--db postgres|pglite] [--seconds 10] [--connections 8,16,32]
 *     [--pool 16] [--minimal] [--pgbench refresh.sql] [--root <checkout>]
 *
 * tokenwarden side: a server in a child process (src/main.ts, PGlite in a temp
 * dir or a scratch PostgreSQL database), `connections + 8` sessions logged in, then
 * autocannon POSTs /api/v1/tokens on `connections` keep-alive connections. Every
 * answer carries the successor token, which goes back into a shared pool; each
 * request takes a token from the pool, so no token is presented twice and any
 * non-2xx is counted (and reported) rather than hidden.
 *
 * Database side: `pgbench -f bench/sql/refresh.sql` (the statements one refresh commits,
 * on tokens seeded for the run) with the same number of connections, once with
 * `-M prepared` (parsed and planned once per connection, as the server sends its named
 * statements) and once with `-M extended` (planned on every call, as before the server named its statements), and
 * with `--minimal` `bench/sql/refresh-minimal.sql` (the least any refresh commits,
 * `-M prepared`), on the same database (the `tokenwarden` schema), right after.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { arg, int, load, ms, parseFlags, scratchDir, scratchPostgres, table } from './support/env.js';
import { SCHEMA, seedPostgres } from './support/seed.js';
import { sessions, startServer } from './support/server.js';

const run = promisify(execFile);
const SPARE_SESSIONS = 8;

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly total: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly load: string;
}

/**
 * autocannon against POST /api/v1/tokens, each request presenting `nextToken()`; `failed`
 * counts the answers other than 200 (autocannon's own non2xx misses the ones it sees in
 * onResponse only), `onGranted` sees each 200's body.
 */
export async function drivePresentedTokens(
  base: string,
  connections: number,
  seconds: number,
  nextToken: () => string,
  onGranted: (body: string) => void = () => {},
): Promise<{ readonly result: autocannon.Result; readonly failed: number }> {
  let failed = 0;
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/api/v1/tokens',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ refreshToken: nextToken() }) }),
        onResponse: (status, body) => {
          if (status === 200) onGranted(body);
          else failed++;
        },
      },
    ],
  });
  return { result, failed: Math.max(failed, result.non2xx) };
}

/**
 * Refreshes on `pool`: each request takes a token from it and every 200 puts the successor
 * back, so no token is presented twice.
 */
export function driveRefreshes(
  base: string,
  pool: string[],
  connections: number,
  seconds: number,
): Promise<{ readonly result: autocannon.Result; readonly failed: number }> {
  return drivePresentedTokens(
    base,
    connections,
    seconds,
    () => {
      const token = pool.shift();
      if (token === undefined) throw new Error('the token pool ran dry: too many failed refreshes');
      return token;
    },
    (body) => pool.push((JSON.parse(body) as { refreshToken: string }).refreshToken),
  );
}

/** {@link driveRefreshes} on `connections + 8` fresh sessions, summarised. */
export async function loadRefresh(base: string, connections: number, seconds: number): Promise<LoadResult> {
  const pool = (await sessions(base, connections + SPARE_SESSIONS)).map((p) => p.refreshToken);
  const { result, failed } = await driveRefreshes(base, pool, connections, seconds);
  return {
    requestsPerSecond: result['2xx'] / seconds,
    total: result.requests.total,
    non2xx: failed,
    errors: result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    load: load(),
  };
}

export interface RefreshRun extends LoadResult {
  readonly database: 'postgres' | 'pglite';
  readonly connections: number;
  /** pgbench tps of the project's refresh SQL with the same connections, `-M prepared` like the server (PostgreSQL only). */
  readonly pgbench: number | null;
  readonly pgbenchLoad: string | null;
  /** The same under `-M extended` (every statement planned on each call). */
  readonly extended: number | null;
  readonly extendedLoad: string | null;
  /** pgbench tps of bench/sql/refresh-minimal.sql (`-M prepared`) with the same connections, when asked for. */
  readonly minimal: number | null;
  readonly minimalLoad: string | null;
}

/** Server pool when none is asked for (TOKENWARDEN's DATABASE_POOL_SIZE). */
export const DEFAULT_POOL = 16;

export interface RefreshOptions {
  readonly database: 'postgres' | 'pglite';
  readonly seconds: number;
  /** A checkout to start instead of this one (before/after figures). */
  readonly root?: string;
  readonly entry?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** pgbench script to hold it against; none skips pgbench. */
  readonly pgbenchScript?: string;
  /** Also run bench/sql/refresh-minimal.sql at each connection count. */
  readonly minimal?: boolean;
  readonly nodeArgs?: readonly string[];
  /** The server's PostgreSQL pool (DATABASE_POOL_SIZE). */
  readonly poolSize?: number;
}

export async function refreshThroughput(
  options: RefreshOptions & { readonly connections: number },
): Promise<RefreshRun> {
  const [run] = await refreshSweep({ ...options, connections: [options.connections] });
  if (run === undefined) throw new Error('no run');
  return run;
}

/**
 * One server and one scratch database for every connection count, in order: the
 * server under autocannon, then pgbench on the project's refresh SQL, then (when asked)
 * on the minimal refresh SQL, each with the same connections, back to back.
 */
export async function refreshSweep(
  options: RefreshOptions & { readonly connections: readonly number[] },
): Promise<RefreshRun[]> {
  const { database, seconds } = options;
  const scratch = database === 'postgres' ? await scratchPostgres('refresh') : null;
  const dir = database === 'pglite' ? await scratchDir() : null;
  try {
    const server = await startServer({
      root: options.root,
      entry: options.entry,
      nodeArgs: options.nodeArgs,
      maxSeconds: (seconds + 60) * options.connections.length * 3 + 60,
      env: {
        ...(scratch !== null
          ? { DATABASE_URL: scratch.url, DATABASE_POOL_SIZE: String(options.poolSize ?? DEFAULT_POOL) }
          : { TOKENWARDEN_DATA_DIR: dir?.dir ?? '' }),
        // Login cost is not what is measured here (see the login table): keep set-up short.
        TOKENWARDEN_ARGON2_MEMORY_KIB: '1024',
        TOKENWARDEN_ARGON2_ITERATIONS: '1',
        ...options.env,
      },
    });
    const runs: RefreshRun[] = [];
    try {
      for (const connections of options.connections) {
        const result = await loadRefresh(server.base, connections, seconds);
        let tps: number | null = null;
        let pgbenchLoad: string | null = null;
        let extended: number | null = null;
        let extendedLoad: string | null = null;
        let minimal: number | null = null;
        let minimalLoad: string | null = null;
        if (scratch !== null && options.pgbenchScript !== undefined) {
          tps = await pgbench(scratch.url, options.pgbenchScript, connections, seconds, 'prepared');
          pgbenchLoad = load();
          extended = await pgbench(scratch.url, options.pgbenchScript, connections, seconds, 'extended');
          extendedLoad = load();
          if (options.minimal === true) {
            minimal = await pgbench(scratch.url, 'refresh-minimal.sql', connections, seconds, 'prepared');
            minimalLoad = load();
          }
        }
        runs.push({
          database,
          connections,
          ...result,
          pgbench: tps,
          pgbenchLoad,
          extended,
          extendedLoad,
          minimal,
          minimalLoad,
        });
      }
    } finally {
      await server.stop();
    }
    return runs;
  } finally {
    await scratch?.drop();
    await dir?.remove();
  }
}

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

/** pgbench tps of `script` (a file in bench/sql/) on tokens `base+1 .. base+count` seeded by `seedForPgbench`. */
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
      fileURLToPath(new URL(`sql/${script}`, import.meta.url)),
      url,
    ],
    // The tables are in tokenwarden's schema, like the server's (TOKENWARDEN_DB_SCHEMA's default).
    { timeout: (seconds + 60) * 1000, env: { ...process.env, PGOPTIONS: `-c search_path=${SCHEMA}` } },
  );
  const match = /tps = ([\d.]+)/.exec(stdout);
  if (match?.[1] === undefined) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return Number(match[1]);
}

export const HEADER = [
  'database',
  'connections',
  'refreshes/s (2xx)',
  'non-2xx / errors',
  'p50',
  'p99',
  'pgbench tps (refresh.sql, prepared)',
  'ratio',
  'pgbench tps (refresh.sql, extended)',
  'ratio to extended',
  'pgbench tps (refresh-minimal.sql, prepared)',
  'ratio to minimal',
  'load average',
];

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
    run.extended === null ? '—' : int(run.extended),
    run.extended === null ? '—' : `${(run.requestsPerSecond / run.extended).toFixed(2)}×`,
    run.minimal === null ? '—' : int(run.minimal),
    run.minimal === null ? '—' : `${(run.requestsPerSecond / run.minimal).toFixed(2)}×`,
    [
      run.load,
      ...(run.pgbenchLoad === null ? [] : [`pgbench ${run.pgbenchLoad}`]),
      ...(run.extendedLoad === null ? [] : [`extended ${run.extendedLoad}`]),
      ...(run.minimalLoad === null ? [] : [`minimal ${run.minimalLoad}`]),
    ].join('; '),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv);
  const results = await refreshSweep({
    database: arg('db', 'postgres') as 'postgres' | 'pglite',
    connections: arg('connections', '16').split(',').map(Number),
    seconds: Number(arg('seconds', flags.quick ? '3' : '10')),
    pgbenchScript: arg('pgbench', 'refresh.sql'),
    minimal: process.argv.includes('--minimal'),
    poolSize: Number(arg('pool', String(DEFAULT_POOL))),
    root: process.argv.includes('--root') ? arg('root', '') : undefined,
  });
  console.log(table(HEADER, results.map(describe)));
}
