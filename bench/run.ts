/**
 * The whole suite: `npm run bench` (< 10 min) or `npm run bench:quick` (< 1 min).
 * Prints each table and writes it into docs/BENCHMARKS.md, each in its own marked
 * section (full and quick runs keep separate sections), with the machine line.
 *
 *   npx tsx bench/run.ts [--quick] [--no-write] [--only refresh,version,rotation,access,forward-auth,signing-alg,audit,downstream,retention,propagation,capacity,refresh-cpu,refresh-floor,introspection,peer]
 */

import { accessAndLogin } from './access-and-login.js';
import { AUDIT_WRITE_HEADER, auditWritePaths } from './audit-write-paths.js';
import { capacity } from './capacity.js';
import { downstreamAcceptance } from './downstream-acceptance.js';
import { forwardAuth } from './forward-auth.js';
import { introspection } from './introspection.js';
import { peer } from './peer.js';
import { propagationDelay } from './propagation-delay.js';
import { refreshCpuAlternated } from './refresh-cpu.js';
import { refreshFloor } from './refresh-floor.js';
import { retention } from './retention.js';
import { rotationScale } from './rotation-scale.js';
import { signingAlgorithmSection } from './signing-algorithms.js';
import { distributionChart, lineChart } from './support/chart.js';
import { load, machine, parseFlags, table, writeSection } from './support/env.js';
import {
  DEFAULT_POOL,
  describe,
  HEADER,
  type RefreshRun,
  refreshSweep,
  refreshThroughput,
} from './support/refresh-sweep.js';
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

const img = (file: string) => new URL(`../docs/img/${file}`, import.meta.url).pathname;

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
      file: img('refresh-throughput.svg'),
      title: `Refresh on PostgreSQL, ${seconds} s per point`,
      x: 'connections',
      y: 'per second',
      series: 'what',
      yTitle: 'refreshes/s or pgbench tps',
      rows: runs
        .filter((run) => run.database === 'postgres')
        .flatMap((run) => [
          { connections: run.connections, 'per second': run.requestsPerSecond, what: 'tokenwarden (HTTP)' },
          {
            connections: run.connections,
            'per second': run.pgbench ?? 0,
            what: 'pgbench refresh.sql (prepared)',
          },
          {
            connections: run.connections,
            'per second': run.extended ?? 0,
            what: 'pgbench refresh.sql (extended)',
          },
          {
            connections: run.connections,
            'per second': run.minimal ?? 0,
            what: 'pgbench refresh-minimal.sql (prepared)',
          },
        ]),
      width: 480,
    });
  }
  await emit(
    'refresh',
    `### Refresh throughput vs pgbench, ${mode}\n\n${machineLine}. ${seconds} s per side; server pool ${DEFAULT_POOL}; ` +
      "at each connection count the server under autocannon, then pgbench on `refresh.sql` (the repository's refresh statements, `bench/support/refresh-statements.ts`) " +
      '(what a refresh commits) with `-M prepared` (planned once per connection, as the server now sends its named statements: ' +
      'the ratio the target is held to) and `-M extended` (planned on every call), and on `bench/sql/refresh-minimal.sql` ' +
      '(the least any refresh commits, prepared), back to back.' +
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
  const plot = `rotation-scale${suffix}.svg`;
  const body = await rotationScale(quick, img(plot));
  await emit(
    'rotation-scale',
    `### Global rotation at scale, ${mode}\n\n${machineLine}. Median and max of 7 rotations through the handler (whole transaction: config row, audit row, outbox events, cache broadcast); the naive revoke runs once, rolled back.\n\n` +
      `![Global rotation vs revoking every row, time against live tokens, both axes log](img/${plot})`,
    body,
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

if (wanted('forward-auth')) {
  await emit(
    'forward-auth',
    `### A gateway's check (forward-auth) beside GET /users/me, ${mode}\n\n${machineLine}. One server (pool 8) on a scratch PostgreSQL database, ` +
      `16 users with a session each, every token checked once before (warm cache); autocannon 16 connections, ${quick ? '1 round of 2 s' : '3 alternated rounds of 8 s'} ` +
      'per route; server CPU per request from /proc/<pid>/stat over each run, HTTP included (`bench/forward-auth.ts`).',
    await forwardAuth(quick),
  );
}

if (wanted('signing-alg')) {
  await emit('signing-alg', `### EdDSA and ES256, ${mode}`, await signingAlgorithmSection(quick));
}

if (wanted('audit')) {
  // This tree only: before/after needs a checkout of the earlier commit (bench/audit-write-paths.ts --before-root).
  const concurrency = 32;
  const rows = await auditWritePaths({ concurrency, seconds: quick ? 2 : 5, rounds: 1 });
  await emit(
    'audit-write-paths',
    `### Audited write paths under concurrency, ${mode}\n\n${machineLine}. PostgreSQL, two cores (instances) on one database, ` +
      `pool 10 each, ${concurrency} calls in flight, ${quick ? 2 : 5} s per path, cheap argon2 (\`bench/audit-write-paths.ts\`).`,
    table(AUDIT_WRITE_HEADER, rows),
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
  const plot = `downstream${suffix}.svg`;
  await distributionChart({
    file: img(plot),
    title: 'Verifier package: from A’s answer to its refusal, every change',
    value: 'ms',
    category: 'change',
    color: 'change',
    valueTitle: 'milliseconds after A answered',
    rows: result.delays.map((d) => ({ ...d })),
  });
  await emit(
    'downstream',
    `### Downstream services: how long a changed token is still accepted, ${mode}\n\n${machineLine}. ` +
      `Two tokenwarden processes on PostgreSQL; the change is made on A, the verifier package follows B's revocation feed, ` +
      `plain jose verifies with B's JWKS. ${rounds} changes of each kind, timed from A's answer (\`bench/downstream-acceptance.ts\`).`,
    `![Verifier delays per change](img/${plot})\n\n${result.acceptance}\n\nWhat the verifier costs per request (in process, after \`ready()\`):\n\n${result.cost}\n\n` +
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

if (wanted('propagation')) {
  const rounds = quick ? 6 : 21;
  const plot = `propagation${suffix}.svg`;
  const { markdown } = await propagationDelay({
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: process.env.REDIS_URL ?? '',
    rounds,
    plotFile: img(plot),
  });
  await emit(
    'propagation',
    `### Propagation between instances, ${mode}\n\n${machineLine}. Two \`src/main.ts\` processes A and B per transport on one scratch PostgreSQL database; ` +
      `${rounds} changes made on A per transport (global rotation with grace 0, user rotation, logout, in turn), B polled with the token until it answers 401 ` +
      `(\`bench/propagation-delay.ts\`). Redis runs only when \`REDIS_URL\` is set.\n\n![Propagation delays A → B per transport, every change](img/${plot})`,
    markdown,
  );
}

if (wanted('capacity')) {
  await emit(
    'capacity',
    `### Capacity: CPU, rows and bytes per operation, ${mode}\n\n${machineLine}. One server (pool 16) on a scratch PostgreSQL database seeded with ` +
      `${quick ? '10 000' : '100 000'} live tokens; autocannon: refreshes (16 connections, ${quick ? 4 : 20} s), logins (production argon2id, 8 connections, ${quick ? 3 : 10} s), ` +
      `\`GET /api/v1/users/me\` (16 connections, ${quick ? 3 : 10} s) (\`bench/capacity.ts\`). CPU from /proc/<pid>/stat; PostgreSQL "backends" are this database's connections, ` +
      '"background" its WAL writer, checkpointer, background writer, autovacuum and postmaster, which every database of the cluster shares (an upper bound here). ' +
      'The capacity model built on these figures is [SCALING.md](SCALING.md).',
    await capacity(quick),
  );
}

if (wanted('refresh-cpu')) {
  await emit(
    'refresh-cpu',
    `### CPU per refresh, ${mode}\n\n${machineLine}. One server (pool 16, named prepared statements) on a scratch PostgreSQL database seeded with ` +
      `${quick ? '10 000' : '20 000'} live tokens, autocannon 16 connections for ${quick ? 5 : 10} s; then pgbench of \`refresh.sql\` (the repository's refresh statements) ` +
      'on the same database and 16 clients, `-M extended` (parsed and planned per statement, as unnamed statements) and `-M prepared` ' +
      "(as the server's named statements). CPU from /proc/<pid>/stat of the server and of this database's backends (`bench/refresh-cpu.ts`).",
    await refreshCpuAlternated([{ label: 'this tree' }], {
      seconds: quick ? 5 : 10,
      rounds: 1,
      connections: 16,
      seed: quick ? 10_000 : 20_000,
      pgbench: true,
    }),
  );
}

if (wanted('refresh-floor')) {
  await emit(
    'refresh-floor',
    `### How close any refresh on this stack comes to pgbench, ${mode}\n\n${machineLine}. One scratch PostgreSQL database, 16 connections, ` +
      `${quick ? 4 : 10} s each, back to back: pgbench \`-M prepared\` of \`refresh.sql\` (the repository's refresh statements); node-postgres alone running the same two ` +
      'statements as named prepared statements from 16 loops (no HTTP); then three floors built of fastify, node-postgres and node:crypto only ' +
      '(`bench/support/floor-server.ts`): `http` answers a token pair without a database, `sql` adds the two statements, `crypto` adds the ' +
      "crypto of a refresh (hashes, a random successor sealed with HKDF + AES-GCM, an Ed25519 JWT); then tokenwarden's own refresh. " +
      'The floors skip every rule, check and fallback of a real refresh: they bound what an implementation on this stack can reach (`bench/refresh-floor.ts`).',
    await refreshFloor({ seconds: quick ? 4 : 10, connections: 16, rounds: 1 }),
  );
}

if (wanted('introspection')) {
  await emit(
    'introspection',
    `### Introspection (RFC 7662) over HTTP, ${mode}\n\n${machineLine}. One server (pool 8) on a scratch PostgreSQL database, 16 users with a ` +
      `session each and one service client; autocannon 16 connections, ${quick ? 2 : 10} s per row, POSTs \`/oauth/introspect\` ` +
      '(form-encoded) with Basic client authentication or a client-credentials Bearer token (`bench/introspection.ts`).',
    await introspection(quick),
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
