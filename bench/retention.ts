/**
 * Retention under a steady refresh load, on PostgreSQL.
 *
 *   npx tsx bench/retention.ts [--seconds 80] [--no-write]
 *
 * Two runs on fresh databases, the same load, once with the pruner and once without:
 * a server in a child process (lifetimes at their minimums: refresh tokens and sessions
 * 60 s, access tokens 30 s), and `WORKERS` clients that each refresh their session in a
 * loop, log in again when the session reaches its absolute age, and log out and in every
 * `REFRESHES_PER_SESSION` refreshes (revoked sessions, feed rows, audit rows, outbox
 * events). Every 5 s the row count of each table is sampled.
 *
 * The pruner is the real one (`Pruner`, the code the server runs), driven from this
 * process every `PRUNE_EVERY_SECONDS` over its own connection, as another instance
 * would; running it here tells exactly when a pass is in flight, so each refresh's
 * latency is filed under "pruner running" or "idle". Windows are short to fill several
 * of them in a run: revoked sessions 10 s, events waiting for a webhook URL 20 s,
 * audit 30 s (the revocation log keeps one access-token TTL + 60 s = 90 s).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createDatabase } from '../src/infrastructure/database/create-database.js';
import { PRUNED_TABLES, type PrunedTable } from '../src/infrastructure/database/retention-rules.js';
import { Pruner } from '../src/infrastructure/retention/pruner.js';
import { lineChart } from './support/chart.js';
import { int, load, machine, ms, parseFlags, scratchPostgres, table, writeSection } from './support/env.js';
import { startServer } from './support/server.js';

const WORKERS = 8;
const REFRESHES_PER_SESSION = 150;
const PRUNE_EVERY_SECONDS = 5;
const SAMPLE_EVERY_SECONDS = 5;
const PASSWORD = 'benchmark password';

interface Sample {
  readonly second: number;
  readonly counts: Readonly<Record<PrunedTable, number>>;
}

interface RunResult {
  readonly pruning: boolean;
  readonly samples: readonly Sample[];
  readonly refreshes: number;
  readonly failures: number;
  /** Latencies (ms) of refreshes that started while a prune pass ran, and of the others. */
  readonly duringPrune: readonly number[];
  readonly outsidePrune: readonly number[];
  readonly passes: number;
  readonly passMs: readonly number[];
  readonly deleted: number;
  readonly load: string;
}

async function call(base: string, method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, string>) };
}

async function countRows(client: pg.Client): Promise<Record<PrunedTable, number>> {
  const { rows } = await client.query<Record<PrunedTable, string>>(
    `select ${PRUNED_TABLES.map((t) => `(select count(*) from ${t}) as ${t}`).join(', ')}`,
  );
  return Object.fromEntries(PRUNED_TABLES.map((t) => [t, Number(rows[0]?.[t] ?? 0)])) as Record<
    PrunedTable,
    number
  >;
}

const quantile = (values: readonly number[], q: number) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
};

async function runOnce(pruning: boolean, seconds: number): Promise<RunResult> {
  const scratch = await scratchPostgres(pruning ? 'prune' : 'keep');
  const server = await startServer({
    maxSeconds: seconds + 240,
    readySeconds: 120,
    env: {
      DATABASE_URL: scratch.url,
      DATABASE_POOL_SIZE: '8',
      // Login cost is not what is measured; the load logs in often.
      TOKENWARDEN_ARGON2_MEMORY_KIB: '64',
      TOKENWARDEN_ARGON2_ITERATIONS: '1',
      TOKENWARDEN_REFRESH_TOKEN_TTL_SECONDS: '60',
      TOKENWARDEN_SESSION_MAX_AGE_SECONDS: '60',
      TOKENWARDEN_ACCESS_TOKEN_TTL_SECONDS: '30',
      TOKENWARDEN_MAX_SESSIONS_PER_USER: '10000',
      // Driven from here instead, so the bench knows when a pass runs.
      TOKENWARDEN_PRUNE_INTERVAL_SECONDS: '0',
    },
  });
  const probe = new pg.Client({ connectionString: scratch.url, options: '-c search_path=tokenwarden' });
  await probe.connect();
  const prunerDb = await createDatabase({
    kind: 'postgres',
    url: scratch.url,
    schema: 'tokenwarden',
    poolSize: 2,
  });
  const pruner = new Pruner(
    { db: prunerDb.db, clock: { now: () => new Date() } },
    {
      intervalSeconds: 0,
      reuseIntervalSeconds: 10,
      accessTokenTtlSeconds: 30,
      revokedSessionsSeconds: 10,
      deliveredEventsSeconds: 20,
      unpublishedEventsSeconds: 20,
      auditSeconds: 30,
    },
  );
  const passes: { start: number; end: number }[] = [];
  let deleted = 0;
  const latencies: { start: number; ms: number }[] = [];
  let failures = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  try {
    const worker = async (w: number) => {
      const email = `retention${w}-${Math.random().toString(36).slice(2)}@example.com`;
      await call(server.base, 'POST', '/api/v1/users', { email, password: PASSWORD });
      const login = async () =>
        (await call(server.base, 'POST', '/api/v1/sessions', { email, password: PASSWORD })).json;
      let pair = await login();
      let used = 0;
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const res = await call(server.base, 'POST', '/api/v1/tokens', { refreshToken: pair.refreshToken });
        latencies.push({ start: t0, ms: performance.now() - t0 });
        if (res.status === 200) {
          pair = res.json;
          used += 1;
        } else {
          // Past the session's absolute age (60 s): log in again.
          failures += res.status === 401 ? 0 : 1;
          pair = await login();
          used = 0;
        }
        if (used >= REFRESHES_PER_SESSION) {
          await call(server.base, 'DELETE', '/api/v1/sessions/current', undefined, pair.accessToken);
          pair = await login();
          used = 0;
        }
        await sleep(10);
      }
    };
    const sampler = async () => {
      const samples: Sample[] = [];
      for (let s = 0; ; s += SAMPLE_EVERY_SECONDS) {
        samples.push({ second: s, counts: await countRows(probe) });
        const next = started + (s + SAMPLE_EVERY_SECONDS) * 1000;
        if (next > deadline + 1) return samples;
        await sleep(Math.max(0, next - performance.now()));
      }
    };
    const pruneLoop = async () => {
      if (!pruning) return;
      while (performance.now() < deadline) {
        await sleep(PRUNE_EVERY_SECONDS * 1000);
        const start = performance.now();
        const report = await pruner.runOnce();
        passes.push({ start, end: performance.now() });
        deleted += Object.values(report.counts).reduce((a, b) => a + b, 0);
      }
    };
    const [, samples] = await Promise.all([
      Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w))),
      sampler(),
      pruneLoop(),
    ]);
    const during: number[] = [];
    const outside: number[] = [];
    for (const l of latencies) {
      const inPass = passes.some((p) => l.start + l.ms >= p.start && l.start <= p.end);
      (inPass ? during : outside).push(l.ms);
    }
    return {
      pruning,
      samples,
      refreshes: latencies.length,
      failures,
      duringPrune: during,
      outsidePrune: outside,
      passes: passes.length,
      passMs: passes.map((p) => p.end - p.start),
      deleted,
      load: load(),
    };
  } finally {
    await pruner.close();
    await prunerDb.close();
    await probe.end();
    await server.stop();
    await scratch.drop();
  }
}

/** Both runs, the plot, and the markdown for docs/BENCHMARKS.md. */
export async function retention(seconds: number, plotFile: string): Promise<string> {
  const withPruning = await runOnce(true, seconds);
  const without = await runOnce(false, seconds);
  const rows = [withPruning, without].flatMap((run) =>
    run.samples.flatMap((s) =>
      PRUNED_TABLES.filter((t) => t !== 'webhook_deliveries').map((t) => ({
        run: run.pruning ? `pruning every ${PRUNE_EVERY_SECONDS} s` : 'no pruning',
        second: s.second,
        table: t,
        rows: s.counts[t],
      })),
    ),
  );
  await lineChart({
    file: plotFile,
    title: `Rows per table under a steady refresh load (${seconds} s, PostgreSQL)`,
    x: 'second',
    y: 'rows',
    series: 'table',
    facet: 'run',
    xTitle: 'seconds into the run',
    yTitle: 'rows',
    rows,
  });
  const last = (run: RunResult) => run.samples.at(-1)?.counts;
  const mid = (run: RunResult) => run.samples[Math.floor(run.samples.length / 2)]?.counts;
  const sizes = table(
    [
      'table',
      `pruning: at ${Math.floor(withPruning.samples.length / 2) * SAMPLE_EVERY_SECONDS} s`,
      'pruning: end',
      'no pruning: mid',
      'no pruning: end',
    ],
    PRUNED_TABLES.filter((t) => t !== 'webhook_deliveries').map((t) => [
      `\`${t}\``,
      int(mid(withPruning)?.[t] ?? 0),
      int(last(withPruning)?.[t] ?? 0),
      int(mid(without)?.[t] ?? 0),
      int(last(without)?.[t] ?? 0),
    ]),
  );
  const all = (run: RunResult) => [...run.duringPrune, ...run.outsidePrune];
  const latency = table(
    [
      'run',
      'refreshes',
      'non-401 failures',
      'p50',
      'p99',
      'p99 while a pass runs (n)',
      'p99 otherwise (n)',
      'passes',
      'pass median / max',
      'rows deleted',
      'load average',
    ],
    [withPruning, without].map((run) => [
      run.pruning ? 'pruning' : 'no pruning',
      int(run.refreshes),
      run.failures,
      ms(quantile(all(run), 0.5)),
      ms(quantile(all(run), 0.99)),
      run.pruning ? `${ms(quantile(run.duringPrune, 0.99))} (${int(run.duringPrune.length)})` : '—',
      `${ms(quantile(run.outsidePrune, 0.99))} (${int(run.outsidePrune.length)})`,
      run.passes,
      run.pruning ? `${ms(quantile(run.passMs, 0.5))} / ${ms(Math.max(...run.passMs))}` : '—',
      int(run.deleted),
      run.load,
    ]),
  );
  return `${sizes}\n\n${latency}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv);
  const at = process.argv.indexOf('--seconds');
  const seconds = at >= 0 ? Number(process.argv[at + 1]) : 80;
  const machineLine = await machine();
  const body = await retention(seconds, new URL('../docs/img/retention.svg', import.meta.url).pathname);
  const markdown = `### Retention under a steady refresh load\n\n${machineLine}. ${seconds} s per run (\`bench/retention.ts\`).\n\n![Rows per table over time, with and without pruning](img/retention.svg)\n\n${body}`;
  console.log(markdown);
  if (flags.write) await writeSection('retention', markdown);
}
