/**
 * Refresh throughput against the database limit: one server and one scratch database for
 * a sweep of connection counts, the server under autocannon, then pgbench on the same
 * database and connections (bench/refresh-throughput.ts; the suite's refresh table).
 */
import { CHEAP_ARGON2_ENV, int, load, ms, scratchDir, scratchPostgres } from './env.js';
import { pgbench } from './pgbench.js';
import { type LoadResult, loadRefresh } from './refresh-load.js';
import { startServer } from './server.js';

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
        ...CHEAP_ARGON2_ENV,
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
