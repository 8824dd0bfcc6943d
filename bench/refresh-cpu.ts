/**
 * CPU per refresh: server µs and PostgreSQL backend µs per refresh, as bench/capacity.ts
 * computes them (utime + stime from /proc of the server process and of this database's
 * backends), for one tree or two alternated (A, B, A, B…) on a shared machine.
 *
 *   npx tsx bench/refresh-cpu.ts [--seconds 10] [--rounds 2] [--connections 16] [--seed 20000]
 *     [--root /tmp/tw-base] [--before-env K=V,K=V] [--after-env K=V] [--cpu-prof dir]
 *     [--before-pg plan_cache_mode=force_custom_plan] [--after-pg K=V] [--pgbench]
 *     [--before-socket /var/run/postgresql] [--after-socket /var/run/postgresql]
 *   npm run bench -- --only refresh-cpu
 *
 * Without `--root` and without env, one side (this tree). `--root` is a checkout of the
 * earlier commit (`git archive <commit> | tar -x -C /tmp/tw-base` and a node_modules
 * symlink). `--cpu-prof` writes a .cpuprofile of each server (bench/cpu-profile.ts reads it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { cpuDuring, Probe, refreshLoad, refreshTokens } from './capacity.js';
import { pgbench } from './refresh-throughput.js';
import { arg, keyValues, load, scratchPostgres, table } from './support/env.js';
import { seedPostgres } from './support/seed.js';
import { startServer } from './support/server.js';

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
  /** pgbench of bench/sql/refresh.sql on the same database and connections, per protocol. */
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

/** Alternates the sides `rounds` times; the markdown table of every run and the means. */
export async function refreshCpuAlternated(
  sides: readonly RefreshCpuSide[],
  options: Parameters<typeof refreshCpu>[1] & { readonly rounds: number },
): Promise<string> {
  const runs: RefreshCpuRun[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const side of sides) runs.push(await refreshCpu(side, options));
  }
  const rows = runs.map((r) => [
    r.label,
    r.refreshes,
    Math.round(r.perSecond),
    Math.round(r.serverMicros),
    Math.round(r.postgresMicros),
    r.load,
    ...pgbenchCells(r),
  ]);
  for (const side of sides) {
    const mine = runs.filter((r) => r.label === side.label);
    const mean = (f: (r: RefreshCpuRun) => number) =>
      Math.round(mine.reduce((s, r) => s + f(r), 0) / mine.length);
    rows.push([
      `**${side.label}, mean**`,
      '',
      mean((r) => r.perSecond),
      mean((r) => r.serverMicros),
      mean((r) => r.postgresMicros),
      '',
      ...(options.pgbench === true
        ? [0, 1].flatMap((i) => [
            mean((r) => r.pgbench[i]?.tps ?? Number.NaN),
            mean((r) => r.pgbench[i]?.postgresMicros ?? Number.NaN),
            `${(mean((r) => r.perSecond) / mean((r) => r.pgbench[i]?.tps ?? Number.NaN)).toFixed(2)}×`,
          ])
        : []),
    ]);
  }
  return table(
    [
      'side',
      'refreshes',
      'refreshes/s',
      'server µs / refresh',
      'PostgreSQL backends µs / refresh',
      'load average',
      ...(options.pgbench === true
        ? ['extended', 'prepared'].flatMap((m) => [
            `pgbench -M ${m} tps`,
            `PostgreSQL µs / transaction (-M ${m})`,
            `refreshes/s ÷ tps (-M ${m})`,
          ])
        : []),
    ],
    rows,
  );
}

function pgbenchCells(run: RefreshCpuRun): (string | number)[] {
  return run.pgbench.flatMap((p) => [
    Math.round(p.tps),
    Math.round(p.postgresMicros),
    `${(run.perSecond / p.tps).toFixed(2)}× (${p.load})`,
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = process.argv.includes('--root') ? arg('root', '') : undefined;
  const before = keyValues('before-env');
  const after = keyValues('after-env');
  const beforePg = keyValues('before-pg');
  const afterPg = keyValues('after-pg');
  const socket = (name: string) => (process.argv.includes(`--${name}`) ? { socketDir: arg(name, '') } : {});
  const sides: RefreshCpuSide[] =
    root === undefined &&
    !process.argv.some((a) => a.endsWith('-socket')) &&
    [before, after, beforePg, afterPg].every((e) => Object.keys(e).length === 0)
      ? [{ label: 'this tree' }]
      : [
          {
            label: arg('before-label', 'before'),
            ...(root === undefined ? {} : { root }),
            env: before,
            pgSettings: beforePg,
            ...socket('before-socket'),
          },
          { label: arg('after-label', 'after'), env: after, pgSettings: afterPg, ...socket('after-socket') },
        ];
  const cpuProfDir = process.argv.includes('--cpu-prof') ? arg('cpu-prof', '') : undefined;
  console.log(
    await refreshCpuAlternated(sides, {
      seconds: Number(arg('seconds', '10')),
      rounds: Number(arg('rounds', sides.length > 1 ? '2' : '1')),
      connections: Number(arg('connections', '16')),
      seed: Number(arg('seed', '20000')),
      pgbench: process.argv.includes('--pgbench'),
      ...(cpuProfDir === undefined ? {} : { cpuProfDir }),
    }),
  );
}
