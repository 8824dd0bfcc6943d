/**
 * The whole suite: `npm run bench` (< 10 min) or `npm run bench:quick` (< 1 min).
 * Prints each table and writes it into docs/BENCHMARKS.md, each in its own marked
 * section (full and quick runs keep separate sections), with the machine line.
 *
 *   npx tsx bench/run.ts [--quick] [--no-write] [--only refresh,version,rotation,access,downstream,retention]
 */

import { fileURLToPath } from 'node:url';
import { accessAndLogin } from './access-and-login.js';
import { lineChart } from './chart.js';
import { downstreamAcceptance } from './downstream-acceptance.js';
import {
  DEFAULT_POOL,
  describe,
  HEADER,
  type RefreshRun,
  refreshSweep,
  refreshThroughput,
} from './refresh-throughput.js';
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
  // One server and database for the sweep; pgbench right after each load, same connections.
  const sweep = quick ? [16] : [4, 8, 16, 32, 64];
  const runs: RefreshRun[] = await refreshSweep({
    database: 'postgres',
    connections: sweep,
    seconds,
    pgbenchScript: 'refresh.sql',
    minimal: true,
  });
  runs.push(await refreshThroughput({ database: 'pglite', connections: 8, seconds }));
  const chart = quick ? '' : `\n\n![Refreshes per second against connections](img/refresh-throughput.svg)`;
  if (!quick && flags.write) {
    await lineChart({
      file: fileURLToPath(new URL('../docs/img/refresh-throughput.svg', import.meta.url)),
      title: `Refresh on PostgreSQL, ${seconds} s per point`,
      x: 'connections',
      y: 'per second',
      series: 'what',
      yTitle: 'refreshes/s or pgbench tps',
      rows: runs
        .filter((run) => run.database === 'postgres')
        .flatMap((run) => [
          { connections: run.connections, 'per second': run.requestsPerSecond, what: 'tokenwarden (HTTP)' },
          { connections: run.connections, 'per second': run.pgbench ?? 0, what: 'pgbench refresh.sql' },
          {
            connections: run.connections,
            'per second': run.minimal ?? 0,
            what: 'pgbench refresh-minimal.sql',
          },
        ]),
      width: 480,
    });
  }
  await emit(
    'refresh',
    `### Refresh throughput vs pgbench, ${mode}\n\n${machineLine}. ${seconds} s per side; server pool ${DEFAULT_POOL}; ` +
      'at each connection count the server under autocannon, then pgbench on `bench/sql/refresh.sql` ' +
      '(what a refresh commits) and on `bench/sql/refresh-minimal.sql` (the least any refresh commits), back to back.' +
      chart,
    table(HEADER, runs.map(describe)),
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

console.log(`suite took ${((performance.now() - started) / 1000).toFixed(0)} s (${load()})`);
