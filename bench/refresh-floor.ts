/**
 * How close could any refresh come to pgbench on this stack? One run, same database and
 * connections: pgbench `-M prepared` of the refresh's own statements (`refresh.sql`, built from
 * the repository by bench/support/refresh-statements.ts), node-postgres alone sending
 * the same two statements (no HTTP), then three floors built of
 * nothing but fastify, node-postgres and node:crypto (bench/support/floor-server.ts:
 * `http` alone, `sql` with the refresh's two statements, `crypto` with a refresh's crypto
 * too), then tokenwarden itself (bench/refresh-cpu.ts). Each with its refreshes/s, its
 * ratio to pgbench, server CPU and PostgreSQL CPU per refresh.
 *
 *   npx tsx bench/refresh-floor.ts [--seconds 10] [--connections 16] [--rounds 1] [--cpu-prof dir]
 *   npm run bench -- --only refresh-floor
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { cpuDuring } from './support/cpu-window.js';
import { Probe } from './support/database-probe.js';
import { arg, load, scratchPostgres, table } from './support/env.js';
import { pgbench } from './support/pgbench.js';
import { refreshCpu } from './support/refresh-cpu-measure.js';
import { drivePresentedTokens } from './support/refresh-load.js';
import { findQuery, rotateQuery, seededHash } from './support/refresh-statements.js';
import { SCHEMA, seedPostgres } from './support/seed.js';
import { startServer } from './support/server.js';

type Stage = 'http' | 'sql' | 'crypto';

/** Answers in flight at the deadline; backends report their counters at most once a second. */
const SETTLE_MS = 1500;

interface Measured {
  readonly label: string;
  readonly perSecond: number;
  /** Non-2xx answers and errors; null for pgbench, which stops at an error instead. */
  readonly failed: number | null;
  readonly serverMicros: number | null;
  readonly postgresMicros: number;
  readonly load: string;
}

/** autocannon on the floor: each request presents the next seeded token, none twice. */
async function driveFloor(
  base: string,
  next: () => number,
  connections: number,
  seconds: number,
): Promise<{ ok: number; failed: number }> {
  const { result, failed } = await drivePresentedTokens(base, connections, seconds, () => String(next()));
  return { ok: result['2xx'], failed: failed + result.errors + result.timeouts };
}

/**
 * node-postgres as pgbench's client: `connections` loops in this process, each running the
 * two statements on the next seeded token through a pool, no HTTP. Client CPU is this
 * process's (autocannon is idle meanwhile).
 */
async function driverOnly(
  url: string,
  probe: Probe,
  tokens: { next: () => number },
  connections: number,
  seconds: number,
): Promise<Measured> {
  const pool = new pg.Pool({ connectionString: url, max: connections, options: `-c search_path=${SCHEMA}` });
  const loop = async (until: number) => {
    let ok = 0;
    let failed = 0;
    while (performance.now() < until) {
      const found = await pool.query<{ id: string; session_id: string; user_id: string }>(
        findQuery(seededHash(tokens.next())),
      );
      const row = found.rows[0];
      if (row === undefined) {
        failed++;
        continue;
      }
      const successorId = randomUUID();
      const written = await pool.query<{ written: number }>(
        rotateQuery({
          parentId: row.id,
          successorId,
          sessionId: row.session_id,
          userId: row.user_id,
          tokenHash: seededHash(successorId),
          successorSealed: 'v1.sealed',
        }),
      );
      if (written.rows[0]?.written === 1) ok++;
      else failed++;
    }
    return { ok, failed };
  };
  const run = async (s: number) => {
    const until = performance.now() + s * 1000;
    const outcomes = await Promise.all(Array.from({ length: connections }, () => loop(until)));
    return outcomes.reduce((a, b) => ({ ok: a.ok + b.ok, failed: a.failed + b.failed }), {
      ok: 0,
      failed: 0,
    });
  };
  try {
    await run(3);
    const cpuBefore = process.cpuUsage();
    const cpu = await cpuDuring(probe, null, SETTLE_MS, async () => {
      const began = performance.now();
      const outcome = await run(seconds);
      return { ...outcome, elapsed: (performance.now() - began) / 1000, used: process.cpuUsage(cpuBefore) };
    });
    const { elapsed, used } = cpu.result;
    const { ok, failed } = cpu.result;
    return {
      label: 'floor: node-postgres alone, no HTTP',
      perSecond: ok / elapsed,
      failed,
      serverMicros: (used.user + used.system) / ok,
      postgresMicros: (cpu.backends / ok) * 1e6,
      load: load(),
    };
  } finally {
    await pool.end();
  }
}

async function floor(
  stage: Stage,
  url: string,
  probe: Probe,
  tokens: { next: () => number },
  connections: number,
  seconds: number,
  cpuProfDir: string | undefined,
): Promise<Measured> {
  const server = await startServer({
    entry: 'bench/support/floor-server.ts',
    env: { DATABASE_URL: url, FLOOR_STAGE: stage },
    ...(cpuProfDir === undefined ? {} : { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] }),
    maxSeconds: 120 + seconds * 2,
  });
  try {
    // Unmeasured first: JIT, the pool's connections, PostgreSQL's caches.
    await driveFloor(server.base, tokens.next, connections, 3);
    await sleep(1000);
    const pid = server.child.pid ?? null;
    const cpu = await cpuDuring(probe, pid, SETTLE_MS, async () => {
      const began = performance.now();
      const outcome = await driveFloor(server.base, tokens.next, connections, seconds);
      return { ...outcome, elapsed: (performance.now() - began) / 1000 };
    });
    const { ok, failed, elapsed } = cpu.result;
    return {
      label: `floor: ${stage}`,
      perSecond: ok / elapsed,
      failed,
      serverMicros: (cpu.server / ok) * 1e6,
      postgresMicros: (cpu.backends / ok) * 1e6,
      load: load(),
    };
  } finally {
    await server.stop();
  }
}

export async function refreshFloor(options: {
  readonly seconds: number;
  readonly connections: number;
  readonly rounds: number;
  /** Profiles each floor server and tokenwarden's (`--cpu-prof`); bench/cpu-profile.ts reads them. */
  readonly cpuProfDir?: string;
}): Promise<string> {
  const runs: Measured[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const scratch = await scratchPostgres(`floor_${round}`);
    const client = new pg.Client({ connectionString: scratch.url });
    try {
      // Enough tokens for every floor stage at any speed this machine reaches, none drawn twice.
      const perStage = Math.max(30_000, 6_000 * (options.seconds + 3));
      const first = 50_000_001;
      const last = first + perStage * 4 - 1;
      await seedPostgres(scratch.url, first, last, { migrate: true });
      await client.connect();
      const probe = new Probe(client);
      let cursor = first;
      const tokens = {
        next: () => {
          if (cursor > last) throw new Error('the seeded tokens ran out');
          return cursor++;
        },
      };
      let seconds = 0;
      const tps = await pgbench(
        scratch.url,
        'refresh.sql',
        options.connections,
        options.seconds,
        'prepared',
        async (run) => {
          const cpu = await cpuDuring(probe, null, SETTLE_MS, run);
          seconds = cpu.backends;
          return cpu.result;
        },
      );
      runs.push({
        label: 'pgbench -M prepared, refresh.sql',
        perSecond: tps,
        failed: null,
        serverMicros: null,
        postgresMicros: (seconds / (tps * options.seconds)) * 1e6,
        load: load(),
      });
      runs.push(await driverOnly(scratch.url, probe, tokens, options.connections, options.seconds));
      console.log(JSON.stringify(runs.at(-1)));
      for (const stage of ['http', 'sql', 'crypto'] as const) {
        runs.push(
          await floor(
            stage,
            scratch.url,
            probe,
            tokens,
            options.connections,
            options.seconds,
            options.cpuProfDir,
          ),
        );
        console.log(JSON.stringify(runs.at(-1)));
      }
    } finally {
      await client.end().catch(() => {});
      await scratch.drop();
    }
    const real = await refreshCpu(
      { label: 'tokenwarden' },
      {
        seconds: options.seconds,
        connections: options.connections,
        seed: 20_000,
        ...(options.cpuProfDir === undefined ? {} : { cpuProfDir: options.cpuProfDir }),
      },
    );
    runs.push({
      label: 'tokenwarden',
      perSecond: real.perSecond,
      failed: real.failed,
      serverMicros: real.serverMicros,
      postgresMicros: real.postgresMicros,
      load: real.load,
    });
  }
  return report(runs, options.connections);
}

function report(runs: readonly Measured[], connections: number): string {
  const rows: (string | number)[][] = [];
  let pgbenchTps: number | null = null;
  for (const run of runs) {
    if (run.serverMicros === null) pgbenchTps = run.perSecond;
    rows.push([
      run.label,
      Math.round(run.perSecond),
      pgbenchTps === null ? '' : `${(run.perSecond / pgbenchTps).toFixed(2)}×`,
      run.serverMicros === null ? '–' : Math.round(run.serverMicros),
      Math.round(run.postgresMicros),
      run.failed ?? '–',
      run.load,
    ]);
  }
  return table(
    [
      `${connections} connections`,
      'refreshes/s',
      'of pgbench',
      'server µs / refresh',
      'PostgreSQL µs / refresh',
      'failed',
      'load average',
    ],
    rows,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    await refreshFloor({
      seconds: Number(arg('seconds', '10')),
      connections: Number(arg('connections', '16')),
      rounds: Number(arg('rounds', '1')),
      ...(arg('cpu-prof', '') === '' ? {} : { cpuProfDir: arg('cpu-prof', '') }),
    }),
  );
}
