/**
 * Crash test: start the server, drive refresh and rotation load, `kill -9` it at a
 * random moment, check the database, restart; repeat.
 *
 *   npx tsx scripts/crash-test.ts [--kills 20] [--db pglite|postgres|both] [--seed 42]
 *
 * After every kill it checks, with the server down:
 *   - the database opens (PGlite: the data dir, directly; PostgreSQL: a new connection);
 *   - every rotation the client saw answered 201 is there: its version, its audit row
 *     and its outbox event (nothing the client was told is lost);
 *   - no session has two live refresh tokens;
 *   - the server starts again on it and answers /ready.
 * PostgreSQL runs on a scratch database (created and dropped) from DATABASE_URL.
 * Exit code 0 when every check held; the figures go to stdout as one JSON line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { createDatabase } from '../src/infrastructure/database/create-database.js';
import type { Database } from '../src/infrastructure/database/schema.js';
import { copyPGliteTemplateDirectory } from '../test/support/databases.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_ENV, USER_PASSWORD } from '../test/support/test-app.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
// This suite's ports (the other suites use 3340-3399).
const PORTS = { first: 3600, last: 3699 } as const;

const { values: args } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    db: { type: 'string', default: process.env.DATABASE_URL ? 'both' : 'pglite' },
    seed: { type: 'string', default: String(Date.now() % 100_000) },
  },
});
const KILLS = Number(args.kills);
let seed = Number(args.seed);
/** A small seeded generator, so a failing run can be replayed with --seed. */
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};

interface Target {
  readonly name: 'pglite' | 'postgres';
  readonly env: Record<string, string>;
  open(): Promise<{ db: Kysely<Database>; close(): Promise<void> }>;
  cleanup(): Promise<void>;
}

async function pgliteTarget(): Promise<Target> {
  const root = await mkdtemp(join(tmpdir(), 'tokenwarden-crash-'));
  const dataDir = join(root, 'data');
  // A migrated directory, as `tokenwarden migrate` leaves one: the first start skips PGlite's
  // initdb (seconds), and no kill lands before the server is ready anyway.
  await copyPGliteTemplateDirectory(dataDir);
  return {
    name: 'pglite',
    env: { TOKENWARDEN_DATA_DIR: dataDir },
    open: () => createDatabase({ kind: 'pglite', dataDir }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

async function postgresTarget(adminUrl: string): Promise<Target> {
  const name = `tw_crash_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name: 'postgres',
    // Its own scratch database: tables in public, where `open` (no schema) looks.
    env: { DATABASE_URL: url.toString(), TOKENWARDEN_DB_SCHEMA: 'public' },
    open: () => createDatabase({ kind: 'postgres', url: url.toString(), poolSize: 2 }),
    async cleanup() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

interface Server {
  readonly base: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  stderr(): string;
}

let nextPort: number = PORTS.first + Math.floor(Math.random() * 50);
async function startServer(target: Target): Promise<Server> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => key !== 'DATABASE_URL' && key !== 'REDIS_URL' && !key.startsWith('TOKENWARDEN_'),
    ),
  );
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = nextPort;
    nextPort = nextPort >= PORTS.last ? PORTS.first : nextPort + 1;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...inherited,
        ...TEST_ENV,
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        ...target.env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const server: Server = { base: `http://127.0.0.1:${port}`, child, exited, stderr: () => stderr };
    // Generous: tsx and PGlite start in seconds, but a loaded two-core machine takes minutes.
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && child.exitCode === null) {
      const ok = await fetch(`${server.base}/ready`, { signal: AbortSignal.timeout(1_000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return server;
      await sleep(100);
    }
    child.kill('SIGKILL');
    await exited;
    if (!stderr.includes('EADDRINUSE'))
      throw new Error(`the server did not start on ${target.name}:\n${stderr}`);
  }
  throw new Error('no free port');
}

async function call(base: string, method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    json: (text.startsWith('{') ? JSON.parse(text) : {}) as Record<string, unknown>,
  };
}

/** What the client was told, and so must survive any crash. */
interface Ledger {
  readonly global: number[];
  readonly user: { userId: string; newVersion: number }[];
  requests: number;
  answers500: number;
}

interface Client {
  users: { id: string; email: string }[];
  sessions: { email: string; refreshToken: string }[];
}

async function setUp(base: string): Promise<Client> {
  const users = [];
  for (let i = 0; i < 3; i++) {
    const email = `crash${i}-${randomBytes(3).toString('hex')}@example.com`;
    const res = await call(base, 'POST', '/api/v1/users', { email, password: USER_PASSWORD });
    users.push({ id: res.json.id as string, email });
  }
  return { users, sessions: [] };
}

/** Refresh chains and rotations until `stop` is set (the process is killed under them). */
async function drive(base: string, client: Client, ledger: Ledger, stop: { now: boolean }) {
  const loginAs = async (email: string, password = USER_PASSWORD) => {
    const res = await call(base, 'POST', '/api/v1/sessions', { email, password });
    return res.status === 201 ? res.json : null;
  };
  while (client.sessions.length < 6) {
    const user = client.users[client.sessions.length % client.users.length]!;
    const pair = await loginAs(user.email);
    if (pair === null) throw new Error('login failed');
    client.sessions.push({ email: user.email, refreshToken: pair.refreshToken as string });
  }
  const note = (status: number) => {
    ledger.requests += 1;
    if (status >= 500) ledger.answers500 += 1;
  };
  const chain = async (session: Client['sessions'][number]) => {
    while (!stop.now) {
      const res = await call(base, 'POST', '/api/v1/tokens', { refreshToken: session.refreshToken });
      note(res.status);
      if (res.status === 200) session.refreshToken = res.json.refreshToken as string;
      else if (res.status === 401) {
        // Rotated, or reused because the answer before the crash was lost: log in again.
        const pair = await loginAs(session.email);
        if (pair !== null) session.refreshToken = pair.refreshToken as string;
      }
    }
  };
  const rotations = async () => {
    let admin = (await loginAs(ADMIN_EMAIL, ADMIN_PASSWORD))?.accessToken as string;
    while (!stop.now) {
      await sleep(20 + random() * 80);
      const user = client.users[Math.floor(random() * client.users.length)]!;
      const res =
        random() < 0.5
          ? await call(
              base,
              'POST',
              '/api/v1/admin/security/rotations',
              { reason: 'crash test', gracePeriodSeconds: 300 },
              admin,
            )
          : await call(
              base,
              'POST',
              `/api/v1/admin/users/${user.id}/rotations`,
              { reason: 'crash test' },
              admin,
            );
      note(res.status);
      if (res.status === 201) {
        if ('userId' in res.json)
          ledger.user.push({ userId: user.id, newVersion: res.json.newVersion as number });
        else ledger.global.push(res.json.newVersion as number);
      } else if (res.status === 401) {
        admin = (await loginAs(ADMIN_EMAIL, ADMIN_PASSWORD))?.accessToken as string;
      }
    }
  };
  await Promise.all([...client.sessions.map((s) => chain(s).catch(() => {})), rotations().catch(() => {})]);
}

async function check(target: Target, ledger: Ledger): Promise<string[]> {
  const problems: string[] = [];
  const opened = performance.now();
  const { db, close } = await target.open(); // throws if the data dir does not open
  try {
    const config = await db.selectFrom('security_config').selectAll().executeTakeFirstOrThrow();
    const maxGlobal = Math.max(1, ...ledger.global);
    if (config.global_min_token_version < maxGlobal)
      problems.push(`global version ${config.global_min_token_version} < ${maxGlobal} the client saw`);
    const globalAudit = new Set(
      (
        await db
          .selectFrom('audit_log')
          .select('details')
          .where('action', '=', 'token_rotation.global')
          .execute()
      ).map((r) => (r.details as { newVersion: number }).newVersion),
    );
    const globalEvents = new Set(
      (
        await db
          .selectFrom('outbox')
          .select('payload')
          .where('event_type', '=', 'GlobalTokenRotationSucceeded')
          .execute()
      ).map((r) => (r.payload as { newVersion: number }).newVersion),
    );
    for (const v of ledger.global) {
      if (!globalAudit.has(v)) problems.push(`global rotation to ${v}: no audit row`);
      if (!globalEvents.has(v)) problems.push(`global rotation to ${v}: no outbox event`);
    }
    const userAudit = new Set(
      (
        await db
          .selectFrom('audit_log')
          .select(['user_id', 'details'])
          .where('action', '=', 'token_rotation.user')
          .execute()
      ).map((r) => `${r.user_id}:${(r.details as { newVersion: number }).newVersion}`),
    );
    const userEvents = new Set(
      (
        await db
          .selectFrom('outbox')
          .select('payload')
          .where('event_type', '=', 'UserTokenRotationSucceeded')
          .execute()
      ).map(
        (r) =>
          `${(r.payload as { userId: string }).userId}:${(r.payload as { newVersion: number }).newVersion}`,
      ),
    );
    for (const u of ledger.user) {
      if (!userAudit.has(`${u.userId}:${u.newVersion}`))
        problems.push(`user rotation ${u.userId} → ${u.newVersion}: no audit row`);
      if (!userEvents.has(`${u.userId}:${u.newVersion}`))
        problems.push(`user rotation ${u.userId} → ${u.newVersion}: no outbox event`);
    }
    const doubled = await sql<{ session_id: string; n: string }>`
      select session_id, count(*) as n from refresh_tokens
      where used_at is null and revoked_at is null group by session_id having count(*) > 1`.execute(db);
    for (const row of doubled.rows) problems.push(`session ${row.session_id} has ${row.n} live tokens`);
  } finally {
    await close();
  }
  openTimes.push(performance.now() - opened);
  return problems;
}

const openTimes: number[] = [];

async function run(target: Target) {
  const ledger: Ledger = { global: [], user: [], requests: 0, answers500: 0 };
  const problems: string[] = [];
  const started = performance.now();
  let server = await startServer(target);
  const client = await setUp(server.base);
  let kills = 0;
  try {
    for (; kills < KILLS; kills++) {
      const stop = { now: false };
      let killed = false;
      const round = kills + 1;
      // Handled from the start: the kill may land during the first logins, whose fetch then
      // fails while nothing awaits the load yet (an unhandled rejection would end this script).
      const load = drive(server.base, client, ledger, stop).catch((error: unknown) => {
        // After the kill a failed request is the crash under test; before it, a problem.
        if (!killed) problems.push(`before kill ${round}: ${error instanceof Error ? error.message : error}`);
      });
      await sleep(150 + random() * 1_200);
      killed = true;
      server.child.kill('SIGKILL');
      await server.exited;
      stop.now = true;
      await load;
      for (const p of await check(target, ledger)) problems.push(`after kill ${kills + 1}: ${p}`);
      server = await startServer(target).catch((error: Error) => {
        throw new Error(`restart after kill ${kills + 1}: ${error.message}`);
      });
    }
    // The last restart serves again: the chains of every session still refresh or log in.
    const health = await call(server.base, 'GET', '/ready');
    if (health.status !== 200) problems.push(`/ready answered ${health.status} after the last restart`);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  return {
    database: target.name,
    kills,
    requests: ledger.requests,
    answers500: ledger.answers500,
    rotationsSeen: { global: ledger.global.length, user: ledger.user.length },
    seconds: Math.round((performance.now() - started) / 1000),
    problems,
  };
}

const which = args.db === 'both' ? ['pglite', 'postgres'] : [args.db];
const results = [];
let failed = false;
for (const name of which) {
  const target =
    name === 'pglite'
      ? await pgliteTarget()
      : await postgresTarget(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  try {
    const result = await run(target);
    results.push(result);
    if (result.problems.length > 0 || result.answers500 > 0) failed = true;
  } catch (error) {
    failed = true;
    results.push({ database: name, error: error instanceof Error ? error.message : String(error) });
  } finally {
    await target.cleanup();
  }
}
const sorted = [...openTimes].sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({ seed: Number(args.seed), results, dbOpenMs: { median: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0), max: Math.round(sorted.at(-1) ?? 0) } })}\n`,
);
process.exit(failed ? 1 : 0);
