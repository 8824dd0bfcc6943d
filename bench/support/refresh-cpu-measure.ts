/**
 * CPU per refresh of one tree: server µs and PostgreSQL backend µs per refresh (utime +
 * stime from /proc of the server process and of this database's backends) under
 * autocannon, on a scratch PostgreSQL database of its own; with `pgbench`, then pgbench of
 * the refresh's own statements on the same database and connections.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { cpuDuring } from './cpu-window.js';
import { Probe } from './database-probe.js';
import { load, scratchPostgres } from './env.js';
import { pgbench } from './pgbench.js';
import { refreshLoad, refreshTokens } from './refresh-load.js';
import { seedPostgres } from './seed.js';
import { startServer } from './server.js';

export interface RefreshCpuSide {
  readonly label: string;
  readonly root?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** PostgreSQL settings of the scratch database (`alter database … set`), e.g. plan_cache_mode. */
  readonly pgSettings?: Readonly<Record<string, string>>;
  /** The server connects through PostgreSQL's Unix socket in this directory instead of TCP. */
  readonly socketDir?: string;
}

export interface RefreshCpuRun {
  readonly label: string;
  readonly refreshes: number;
  /** Non-2xx answers and errors during the measured window. */
  readonly failed: number;
  readonly perSecond: number;
  readonly serverMicros: number;
  readonly postgresMicros: number;
  /** Committed transactions per refresh (pg_stat_database): statements when each is its own. */
  readonly transactions: number;
  readonly load: string;
  /** pgbench of refresh.sql (bench/support/refresh-statements.ts) on the same database and connections, per protocol. */
  readonly pgbench: readonly PgbenchRun[];
}

interface PgbenchRun {
  readonly mode: 'extended' | 'prepared';
  readonly tps: number;
  readonly postgresMicros: number;
  readonly load: string;
}

export async function refreshCpu(
  side: RefreshCpuSide,
  options: {
    readonly seconds: number;
    readonly connections: number;
    readonly seed: number;
    readonly cpuProfDir?: string;
    /** Also pgbench refresh.sql, `-M extended` and `-M prepared`, after the server stopped. */
    readonly pgbench?: boolean;
  },
): Promise<RefreshCpuRun> {
  const scratch = await scratchPostgres(`cpu_${Math.random().toString(36).slice(2, 8)}`);
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let client: pg.Client | undefined;
  try {
    if (side.pgSettings !== undefined && Object.keys(side.pgSettings).length > 0) {
      const admin = new pg.Client({ connectionString: scratch.url });
      await admin.connect();
      try {
        for (const [name, value] of Object.entries(side.pgSettings)) {
          // Names and values come from this script's command line, not from requests.
          await admin.query(
            `alter database ${scratch.name} set ${pg.escapeIdentifier(name)} = ${pg.escapeLiteral(value)}`,
          );
        }
      } finally {
        await admin.end();
      }
    }
    server = await startServer({
      ...(side.root === undefined ? {} : { root: side.root }),
      ...(options.cpuProfDir === undefined
        ? {}
        : { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] }),
      maxSeconds: 120 + options.seconds * 2,
      readySeconds: 120,
      env: {
        DATABASE_URL:
          side.socketDir === undefined
            ? scratch.url
            : `postgres://postgres@localhost/${scratch.name}?host=${encodeURIComponent(side.socketDir)}`,
        DATABASE_POOL_SIZE: '16',
        TOKENWARDEN_MAX_SESSIONS_PER_USER: '10000',
        TOKENWARDEN_PRUNE_INTERVAL_SECONDS: '0',
        ...side.env,
      },
    });
    // Far above the range pgbench seeds for itself (from 1 up).
    if (options.seed > 0) await seedPostgres(scratch.url, 10_000_001, 10_000_000 + options.seed);
    const connected = new pg.Client({ connectionString: scratch.url });
    client = connected;
    await connected.connect();
    const probe = new Probe(connected);
    const pid = server.child.pid ?? 0;
    const base = server.base;
    // Unmeasured first: JIT, pool connections, PostgreSQL's caches.
    await refreshLoad(base, await refreshTokens(base, options.connections), options.connections, 3);
    const pool = await refreshTokens(base, options.connections);
    await sleep(1000);
    const commits = async () =>
      Number(
        (
          await connected.query<{ n: string }>(
            'select xact_commit as n from pg_stat_database where datname = current_database()',
          )
        ).rows[0]?.n ?? 0,
      );
    const commitsBefore = await commits();
    // 1.5 s after the load: answers still in flight at autocannon's deadline finish, and
    // backends report their counters at most once a second.
    const cpu = await cpuDuring(probe, pid, 1500, async () => {
      const began = performance.now();
      const outcome = await refreshLoad(base, pool, options.connections, options.seconds);
      return { ...outcome, elapsed: (performance.now() - began) / 1000 };
    });
    const { result } = cpu;
    const { elapsed } = result;
    const transactions = ((await commits()) - commitsBefore) / result.ok;
    const measuredLoad = load();
    console.log(
      `${side.label}: ${result.ok} refreshes (${result.non2xx} failed), ${Math.round(result.ok / elapsed)}/s, ` +
        `server ${Math.round((cpu.server / result.ok) * 1e6)} µs/refresh, ` +
        `PostgreSQL backends ${Math.round((cpu.backends / result.ok) * 1e6)} µs/refresh, ` +
        `${transactions.toFixed(2)} transactions/refresh (${measuredLoad})`,
    );
    const pgbenchRuns: PgbenchRun[] = [];
    if (options.pgbench === true) {
      await server.stop();
      server = undefined;
      for (const mode of ['extended', 'prepared'] as const) {
        let seconds = 0;
        const tps = await pgbench(
          scratch.url,
          'refresh.sql',
          options.connections,
          options.seconds,
          mode,
          async (run) => {
            const measured = await cpuDuring(probe, null, 0, run);
            seconds = measured.backends;
            return measured.result;
          },
        );
        const postgresMicros = (seconds / (tps * options.seconds)) * 1e6;
        pgbenchRuns.push({ mode, tps, postgresMicros, load: load() });
        console.log(
          `  pgbench -M ${mode}: ${Math.round(tps)} tps, ${Math.round(postgresMicros)} PostgreSQL µs/transaction (${load()})`,
        );
      }
    }
    return {
      label: side.label,
      refreshes: result.ok,
      failed: result.non2xx,
      perSecond: result.ok / elapsed,
      serverMicros: (cpu.server / result.ok) * 1e6,
      postgresMicros: (cpu.backends / result.ok) * 1e6,
      transactions,
      load: measuredLoad,
      pgbench: pgbenchRuns,
    };
  } finally {
    await client?.end();
    await server?.stop();
    await scratch.drop();
  }
}
