/**
 * The whole suite: `npm run bench` (< 10 min) or `npm run bench:quick` (< 1 min).
 * Prints each table and writes it into docs/BENCHMARKS.md, each in its own marked
 * section (full and quick runs keep separate sections), with the machine line.
 *
 *   npx tsx bench/run.ts [--quick] [--no-write] [--only refresh,version,rotation,access,downstream,retention,peer]
 */
import { accessAndLogin } from './access-and-login.js';
import { downstreamAcceptance } from './downstream-acceptance.js';
import { peer } from './peer.js';
import { describe, type RefreshRun, refreshThroughput } from './refresh-throughput.js';
import { retention } from './retention.js';
import { rotationScale } from './rotation-scale.js';
import { load, machine, parseFlags, table, writeSection } from './support/env.js';
import { versionCheckCost } from './version-check.js';

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
  const cost = await versionCheckCost({ connections: 16, seconds, rounds: quick ? 1 : 3 });
  await emit(
    'version-check',
    `### Cost of the version check, ${mode}\n\n${machineLine}. pgbench, PostgreSQL, 16 connections, ${seconds} s per run, ` +
      `the refresh SQL with and without its version part, alternated (\`bench/version-check.ts\`). ` +
      `Overhead (1 − with/without, means): **${cost.overheadPercent.toFixed(1)} %**. ` +
      `In process, the stamp comparison: ${cost.stampCheckMicros.toFixed(3)} µs per refresh.`,
    table(['refresh SQL', 'connections', 'pgbench tps', 'load average'], cost.rows),
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

if (wanted('downstream')) {
  const rounds = quick ? 3 : 15;
  const memoryRotations = quick ? 10_000 : 100_000;
  const result = await downstreamAcceptance({
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    rounds,
    memoryRotations,
  });
  await emit(
    'downstream',
    `### Downstream services: how long a changed token is still accepted, ${mode}\n\n${machineLine}. ` +
      `Two tokenwarden processes on PostgreSQL; the change is made on A, the verifier package follows B's revocation feed, ` +
      `plain jose verifies with B's JWKS. ${rounds} changes of each kind, timed from A's answer (\`bench/downstream-acceptance.ts\`).`,
    `${result.acceptance}\n\nWhat the verifier costs per request (in process, after \`ready()\`):\n\n${result.cost}\n\n` +
      `Its memory with ${memoryRotations.toLocaleString('en')} user rotations inside one access-token TTL ` +
      `(heap after a forced GC, \`node --expose-gc\`; without it the figure includes garbage):\n\n${result.memory}`,
  );
}

if (wanted('retention')) {
  const runSeconds = quick ? 10 : 80;
  const plot = `retention${suffix}.svg`;
  const body = await retention(runSeconds, new URL(`../docs/img/${plot}`, import.meta.url).pathname);
  await emit(
    'retention',
    `### Retention under a steady refresh load, ${mode}\n\n${machineLine}. PostgreSQL, ${runSeconds} s per run, ` +
      'with and without the pruner (`bench/retention.ts`).\n\n' +
      `![Rows per table over time, with and without pruning](img/${plot})`,
    body,
  );
}

if (wanted('peer')) {
  const plot = `peer${suffix}.svg`;
  const body = await peer({
    quick,
    chartFile: new URL(`../docs/img/${plot}`, import.meta.url).pathname,
    chartLink: `img/${plot}`,
    machineLine,
  });
  await emit('peer', `### tokenwarden and better-auth side by side, ${mode}`, body);
}

console.log(`suite took ${((performance.now() - started) / 1000).toFixed(0)} s (${load()})`);
