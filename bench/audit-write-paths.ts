/**
 * What the audit hash chain costs the write paths that audit — login, user rotation, logout —
 * under concurrency, before and after, back to back and alternated (A, B, A, B…) so the
 * drifting load of a shared machine hits both sides alike.
 *
 *   npx tsx bench/audit-write-paths.ts [--before-root /tmp/tw-base [--before-label 'no chain']] [--quick] [--no-write]
 *     [--seconds 5] [--rounds 2] [--concurrency 32]
 *
 * In process, on PostgreSQL: each side gets a scratch database and TWO cores on it (two
 * instances, as a deployment with several servers has), pool 10 each, with cheap argon2
 * (64 KiB, t=1: a login's production argon2 costs tens of ms and would hide the write path).
 * `--concurrency` calls are kept in flight, spread over both cores, for `--seconds` per path.
 * `--before-root` is a checkout of the commit before the chain (`git archive <commit> | tar -x -C
 * /tmp/tw-base` and a node_modules symlink); without it only this tree is measured.
 */
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely';
import pg from 'pg';
import { CHAIN_BATCH, chainPendingBatch } from '../src/infrastructure/audit/audit-chainer.js';
import { unchainedInsert } from '../src/infrastructure/database/repositories/kysely-audit-repository.js';
import type { Database } from '../src/infrastructure/database/schema.js';
import {
  arg,
  int,
  load,
  machine,
  ms,
  parseFlags,
  type Row,
  scratchPostgres,
  table,
  writeSection,
} from './support/env.js';
import { SCHEMA } from './support/seed.js';

const execFileAsync = promisify(execFile);

interface Result<T> {
  readonly ok: boolean;
  readonly value?: T;
  readonly error?: unknown;
}

/** The part of a core this bench drives: the same handlers in either tree. */
interface BenchCore {
  readonly services: {
    readonly registerUser: { handle(c: unknown): Promise<Result<{ id: string }>> };
    readonly createSession: { handle(c: unknown): Promise<Result<{ sessionId: string }>> };
    readonly triggerUserTokenRotation: { handle(c: unknown): Promise<Result<unknown>> };
    readonly revokeSession: { handle(c: unknown): Promise<Result<unknown>> };
  };
  close(): Promise<void>;
}

interface Side {
  readonly label: string;
  readonly root: string;
}

const PASSWORD = 'benchmark password';

async function openCores(root: string, url: string): Promise<BenchCore[]> {
  const src = (file: string) => pathToFileURL(`${root}/src/${file}`).href;
  const { createCore } = (await import(src('composition-root.ts'))) as {
    createCore(config: unknown, options: unknown): Promise<BenchCore>;
  };
  const { loadConfig } = (await import(src('config.ts'))) as { loadConfig(env: object): unknown };
  const config = loadConfig({
    DATABASE_URL: process.env.BENCH_PG_OPTIONS
      ? `${url}?options=${encodeURIComponent(process.env.BENCH_PG_OPTIONS)}`
      : url,
    LOG_LEVEL: 'silent',
    TOKENWARDEN_ARGON2_MEMORY_KIB: '64',
    TOKENWARDEN_ARGON2_ITERATIONS: '1',
  });
  const first = await createCore(config, { defaultMetrics: false });
  const second = await createCore(config, { defaultMetrics: false });
  return [first, second];
}

function must<T>(result: Result<T>): T {
  if (!result.ok) throw result.error;
  return result.value as T;
}

/** Calls `op` with `concurrency` in flight for `seconds`; ops/s and latency percentiles. */
async function drive(
  concurrency: number,
  seconds: number,
  op: (worker: number, i: number) => Promise<boolean>,
): Promise<{ perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < until) {
        const began = performance.now();
        if (!(await op(worker, n++))) return;
        latencies.push(performance.now() - began);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? Number.NaN;
  return { perSecond: latencies.length / seconds, p50: at(0.5), p99: at(0.99) };
}

async function measureSide(side: Side, concurrency: number, seconds: number): Promise<Row[]> {
  const db = await scratchPostgres(`audit_${side.label.replace(/\W/g, '')}`);
  try {
    const cores = await openCores(side.root, db.url);
    try {
      const commands = (file: string) => pathToFileURL(`${side.root}/src/application/commands/${file}`).href;
      const { RegisterUser } = await import(commands('register-user/command.ts'));
      const { CreateSession } = await import(commands('create-session/command.ts'));
      const { TriggerUserTokenRotation } = await import(commands('trigger-user-token-rotation/command.ts'));
      const { RevokeSession } = await import(commands('revoke-session/command.ts'));
      const core = (worker: number) => cores[worker % cores.length] as BenchCore;
      // One account per worker: rotations of one user queue on its row, which is not what is measured.
      const users: { id: string; email: string }[] = [];
      for (let w = 0; w < concurrency; w++) {
        const email = `bench-${w}@example.com`;
        const { id } = must(
          await core(w).services.registerUser.handle(
            RegisterUser({ email, password: PASSWORD, role: 'user', actor: 'bench' }),
          ),
        );
        users.push({ id, email });
      }
      const sessions: string[][] = users.map(() => []);
      const user = (w: number) => users[w] as { id: string; email: string };
      const login = await drive(concurrency, seconds, async (w) => {
        const s = must(
          await core(w).services.createSession.handle(
            CreateSession({ email: user(w).email, password: PASSWORD, userAgent: null, ip: null }),
          ),
        );
        sessions[w]?.push(s.sessionId);
        return true;
      });
      const rotation = await drive(concurrency, seconds, async (w, i) => {
        must(
          await core(w).services.triggerUserTokenRotation.handle(
            TriggerUserTokenRotation({ userId: user(w).id, triggeredBy: 'bench', reason: `bench ${i}` }),
          ),
        );
        return true;
      });
      const logout = await drive(concurrency, seconds, async (w) => {
        const sessionId = sessions[w]?.pop();
        if (sessionId === undefined) return false;
        must(
          await core(w).services.revokeSession.handle(
            RevokeSession({ sessionId, ownerId: null, actor: 'bench', reason: 'logout' }),
          ),
        );
        return true;
      });
      const row = (what: string, r: { perSecond: number; p50: number; p99: number }): Row => [
        side.label,
        what,
        int(r.perSecond),
        ms(r.p50),
        ms(r.p99),
        load(),
      ];
      const rows = [row('login', login), row('user rotation', rotation), row('logout', logout)];
      if (side.root === process.cwd()) {
        const bench = await pgbenchAuditInsert(db.url, 16, seconds);
        rows.push([
          'pgbench, 16 clients',
          'one audit row per transaction, plain INSERT (as before)',
          int(bench.plain),
          '',
          '',
          load(),
        ]);
        rows.push([
          'pgbench, 16 clients',
          "one audit row per transaction, the writer's INSERT (unchained, chained after the commit)",
          int(bench.writer),
          '',
          '',
          load(),
        ]);
        rows.push([
          `chainer, batches of ${CHAIN_BATCH}`,
          `rows chained per second (${bench.chainer.rows} pending rows, ${bench.chainer.batches} batch runs)`,
          int(bench.chainer.perSecond),
          ms(bench.chainer.batchP50),
          ms(bench.chainer.batchMax),
          load(),
        ]);
      }
      return rows;
    } finally {
      for (const c of cores) await c.close();
    }
  } finally {
    await db.drop();
  }
}

/** A literal for pgbench: the compiled statement's parameters written into it. */
function literal(value: unknown): string {
  if (value === null) return 'NULL';
  if (Buffer.isBuffer(value)) return `'\\x${value.toString('hex')}'`;
  return `'${String(value).replaceAll("'", "''")}'`;
}

/**
 * The database side alone: pgbench commits one audit row per transaction, the writer's INSERT
 * (compiled from `unchainedInsert`, parameters as literals, into `audit_log` with its indexes,
 * the pending one included) against a plain INSERT into a copy of the table as it was before
 * the chain. Then the chainer alone: the rows pgbench left pending chained batch after batch
 * (`chainPendingBatch`, one transaction and one WAL flush each), rows per second and the
 * p50/max of one batch run.
 */
async function pgbenchAuditInsert(
  url: string,
  clients: number,
  seconds: number,
): Promise<{
  plain: number;
  writer: number;
  chainer: { rows: number; batches: number; perSecond: number; batchP50: number; batchMax: number };
}> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${SCHEMA}` });
  await client.connect();
  try {
    await client.query(`create table if not exists audit_plain (
      id bigserial primary key, occurred_at timestamptz not null, actor text not null, action text not null,
      user_id text, reason text, details jsonb not null default '{}'::jsonb)`);
    await client.query('create index if not exists audit_plain_action_id_idx on audit_plain (action, id)');
    await client.query('create index if not exists audit_plain_user_id_id_idx on audit_plain (user_id, id)');
    await client.query('create index if not exists audit_plain_occurred_at_idx on audit_plain (occurred_at)');
  } finally {
    await client.end();
  }
  const compiler = new Kysely<unknown>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  const entry = {
    occurredAt: new Date(),
    actor: '4b0c5f43-2a0e-4a53-9d5e-1d6f9c1c0e11',
    action: 'session.logout',
    userId: '4b0c5f43-2a0e-4a53-9d5e-1d6f9c1c0e11',
    reason: 'logout',
    details: { sessionId: 'c3c1a0a4-0f5e-4a45-8d52-4b7a7e0c2f11' },
  };
  const compiled = unchainedInsert(entry).compile(compiler);
  const writerSql = compiled.sql.replace(/\$(\d+)/g, (_: string, n: string) =>
    literal(compiled.parameters[Number(n) - 1]),
  );
  const plainSql = sql`insert into audit_plain (occurred_at, actor, action, user_id, reason, details)
    values (${entry.occurredAt.toISOString()}::timestamptz, ${entry.actor}, ${entry.action}, ${entry.userId}, ${entry.reason}, ${JSON.stringify(entry.details)}::jsonb)`.compile(
    compiler,
  );
  const plainText = plainSql.sql.replace(/\$(\d+)/g, (_: string, n: string) =>
    literal(plainSql.parameters[Number(n) - 1]),
  );
  const run = async (statement: string): Promise<number> => {
    const file = join(tmpdir(), `tw-audit-${process.pid}-${Math.random().toString(36).slice(2)}.sql`);
    await writeFile(file, `BEGIN;\n${statement.replace(/\s+/g, ' ').trim()};\nCOMMIT;\n`);
    try {
      const { stdout } = await execFileAsync(
        'pgbench',
        ['-n', '-c', String(clients), '-j', '2', '-T', String(seconds), '-f', file, url],
        { timeout: (seconds + 60) * 1000, env: { ...process.env, PGOPTIONS: `-c search_path=${SCHEMA}` } },
      );
      const match = /tps = ([\d.]+)/.exec(stdout);
      if (match?.[1] === undefined) throw new Error(`pgbench printed no tps:\n${stdout}`);
      return Number(match[1]);
    } finally {
      await rm(file, { force: true });
    }
  };
  const plain = await run(plainText);
  const writer = await run(writerSql);
  await compiler.destroy();
  const chainer = await chainerThroughput(url);
  return { plain, writer, chainer };
}

/** Chains every pending row, a batch per transaction, timing each batch run. */
async function chainerThroughput(
  url: string,
): Promise<{ rows: number; batches: number; perSecond: number; batchP50: number; batchMax: number }> {
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: new pg.Pool({ connectionString: url, options: `-c search_path=${SCHEMA}`, max: 1 }),
    }),
  });
  try {
    const times: number[] = [];
    let rows = 0;
    const began = performance.now();
    for (;;) {
      const t = performance.now();
      const chained = await chainPendingBatch(db);
      if (chained === 0) break;
      times.push(performance.now() - t);
      rows += chained;
    }
    const elapsed = (performance.now() - began) / 1000;
    times.sort((a, b) => a - b);
    return {
      rows,
      batches: times.length,
      perSecond: rows / elapsed,
      batchP50: times[Math.floor(times.length / 2)] ?? Number.NaN,
      batchMax: times.at(-1) ?? Number.NaN,
    };
  } finally {
    await db.destroy();
  }
}

export const AUDIT_WRITE_HEADER = ['tree', 'write path', 'per second', 'p50', 'p99', 'load average'];

export async function auditWritePaths(options: {
  readonly beforeRoot?: string;
  /** What the `--before-root` tree is, for the table (the previous design, or a tree with no chain). */
  readonly beforeLabel?: string;
  readonly concurrency: number;
  readonly seconds: number;
  readonly rounds: number;
}): Promise<Row[]> {
  const sides: Side[] = [
    ...(options.beforeRoot === undefined
      ? []
      : [{ label: `before (${options.beforeLabel ?? 'the --before-root tree'})`, root: options.beforeRoot }]),
    { label: 'after (chained at commit)', root: process.cwd() },
  ];
  const rows: Row[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const side of sides) {
      const measured = await measureSide(side, options.concurrency, options.seconds);
      for (const r of measured) console.log(r.join(' | '));
      rows.push(...measured);
    }
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const flags = parseFlags(process.argv);
  const beforeRoot = process.argv.includes('--before-root') ? arg('before-root', '') : undefined;
  const beforeLabel = process.argv.includes('--before-label') ? arg('before-label', '') : undefined;
  const concurrency = Number(arg('concurrency', '32'));
  const seconds = Number(arg('seconds', flags.quick ? '2' : '5'));
  const rounds = Number(arg('rounds', flags.quick ? '1' : '2'));
  const machineLine = await machine();
  const rows = await auditWritePaths({ beforeRoot, beforeLabel, concurrency, seconds, rounds });
  const markdown =
    `### Audit hash chain: cost to the write paths that audit\n\n` +
    `${machineLine}. PostgreSQL, two cores (instances) on one database, pool 10 each, ${concurrency} calls in flight, ` +
    `${seconds} s per path, ${rounds} alternated round(s), cheap argon2 (\`bench/audit-write-paths.ts\`).\n\n` +
    table(AUDIT_WRITE_HEADER, rows);
  console.log(`\n${markdown}`);
  if (flags.write) await writeSection('audit-write-paths', markdown);
  process.exit(0);
}
