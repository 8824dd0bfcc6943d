/**
 * The whole suite: `npm run bench` (< 10 min) or `npm run bench:quick` (< 1 min).
 * Prints each table and writes it into docs/BENCHMARKS.md, each in its own marked
 * section (full and quick runs keep separate sections), with the machine line.
 *
 *   npx tsx bench/run.ts [--quick] [--no-write] [--only refresh,version,rotation,access]
 */
import { accessAndLogin } from './access-and-login.js';
import { describe, type RefreshRun, refreshThroughput } from './refresh-throughput.js';
import { rotationScale } from './rotation-scale.js';
import { load, machine, parseFlags, type Row, table, writeSection } from './support/env.js';

const flags = parseFlags(process.argv);
const quick = flags.quick;
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? new Set((process.argv[onlyAt + 1] ?? '').split(',')) : null;
const wanted = (name: string) => only === null || only.has(name);
const suffix = quick ? '-quick' : '';
const seconds = quick ? 2 : 10;
const started = performance.now();

async function emit(id: string, title: string, body: string): Promise<void> {
  const markdown = `${title}\n\n${body}`;
  console.log(`\n${markdown}\n`);
  if (flags.write) await writeSection(`${id}${suffix}`, markdown);
}

const machineLine = await machine();
const mode = quick ? 'quick run (`npm run bench:quick`)' : 'full run (`npm run bench`)';
console.log(machineLine);

if (wanted('refresh')) {
  const runs: RefreshRun[] = [];
  runs.push(
    await refreshThroughput({ database: 'postgres', connections: 16, seconds, pgbenchScript: 'refresh.sql' }),
  );
  if (!quick) {
    runs.push(
      await refreshThroughput({
        database: 'postgres',
        connections: 32,
        seconds,
        pgbenchScript: 'refresh.sql',
      }),
    );
  }
  runs.push(await refreshThroughput({ database: 'pglite', connections: 8, seconds }));
  await emit(
    'refresh',
    `### Refresh throughput vs pgbench, ${mode}\n\n${machineLine}. ${seconds} s per side.`,
    table(
      [
        'database',
        'connections',
        'refreshes/s (2xx)',
        'non-2xx / errors',
        'p50',
        'p99',
        'pgbench tps',
        'ratio',
        'load average',
      ],
      runs.map(describe),
    ),
  );
}

if (wanted('version')) {
  // Alternated so drifting load hits both sides alike.
  const rounds = quick ? 1 : 3;
  const on: number[] = [];
  const off: number[] = [];
  const rows: Row[] = [];
  for (let i = 0; i < rounds; i++) {
    for (const skip of [false, true]) {
      const r = await refreshThroughput({
        database: 'postgres',
        connections: 16,
        seconds,
        env: skip ? { TOKENWARDEN_BENCH_SKIP_VERSION_CHECK: '1' } : {},
      });
      (skip ? off : on).push(r.requestsPerSecond);
      rows.push([
        skip ? 'short-circuited (bench only)' : 'with the version check',
        ...describe(r).slice(1, 6),
        r.load,
      ]);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const overhead = (1 - mean(on) / mean(off)) * 100;
  await emit(
    'version-check',
    `### Cost of the version check, ${mode}\n\n${machineLine}. PostgreSQL, 16 connections, ${seconds} s per run, alternated. ` +
      `Overhead (1 − with/without, means): **${overhead.toFixed(1)} %**.`,
    table(['refresh', 'connections', 'refreshes/s', 'non-2xx / errors', 'p50', 'p99', 'load average'], rows),
  );
}

if (wanted('rotation')) {
  await emit(
    'rotation-scale',
    `### Global rotation at scale, ${mode}\n\n${machineLine}. Median and max of 7 rotations through the handler (whole transaction: config row, audit row, outbox events, cache broadcast); the naive revoke runs once, rolled back.`,
    await rotationScale(quick),
  );
}

if (wanted('access')) {
  const { inProcess, http } = await accessAndLogin(quick);
  await emit(
    'access',
    `### Access-token check, login and argon2, ${mode}\n\n${machineLine}.`,
    `${inProcess}\n\n${http}`,
  );
}

console.log(`suite took ${((performance.now() - started) / 1000).toFixed(0)} s (${load()})`);
