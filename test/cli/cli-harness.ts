import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { run, SERVING } from '../../src/cli/main.js';
import { type Core, createCore, migrateDatabase } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { copyPGliteTemplateDirectory } from '../support/databases.js';
import { TEST_ENV } from '../support/test-app.js';

/**
 * The CLI from the TypeScript source through tsx, as bin/tokenwarden.mjs runs it without a
 * build: the bin prefers dist/, which may be older than the code under test. The built bin is
 * tested in test/deploy/built-server.test.ts.
 */
const SOURCE_CLI = [
  '--import',
  'tsx',
  '--input-type=module',
  '-e',
  `process.argv.splice(1, 0, 'tokenwarden'); const { main } = await import(${JSON.stringify(
    fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)),
  )}); await main();`,
  // node's own options end here: --help and the rest are the CLI's.
  '--',
];

/** The actor the CLI audits as, here. */
export const CLI_ACTOR = `cli:${userInfo().username}`;

/** Cheap argon2: the CLI hashes with the same settings the test process verifies with. */
const CHEAP_ENV = {
  TOKENWARDEN_ARGON2_MEMORY_KIB: TEST_ENV.TOKENWARDEN_ARGON2_MEMORY_KIB as string,
  TOKENWARDEN_ARGON2_ITERATIONS: TEST_ENV.TOKENWARDEN_ARGON2_ITERATIONS as string,
};

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What holdStopSignals listens to while a command works on the database. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs `tokenwarden …args` in this process through `run()`, the function the executable calls,
 * with its own streams and only `env` (plus cheap argon2): none of this process's DATABASE_URL,
 * REDIS_URL or data dir, since the CLI reads its environment from `io.env` alone. Piped stdin,
 * as from a shell pipe. What needs a process of its own (the executable's exit code, signals,
 * a data directory another process holds) goes through {@link runCliProcess}.
 */
export async function runCli(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  input = '',
  through?: Core,
): Promise<CliResult> {
  const stdin = new PassThrough();
  stdin.end(input);
  const stdout = collect();
  const stderr = collect();
  const before = activeResources();
  const listening = STOP_SIGNALS.map((signal) => process.listenerCount(signal));
  const code = await run(args, {
    stdin,
    stdout,
    stderr,
    env: { ...CHEAP_ENV, ...env },
    // As a running server runs a CLI beside it (its control channel): the same run(), handlers,
    // output and exit codes, over a core kept open instead of a database opened per command.
    ...(through === undefined ? {} : { server: { core: through, actor: CLI_ACTOR } }),
  });
  if (code === SERVING) throw new Error('runCli: `serve` keeps listening; start it with runCliProcess');
  // holdStopSignals must give the signals back, or each command would add listeners to this process.
  STOP_SIGNALS.forEach((signal, i) => {
    if (process.listenerCount(signal) !== listening[i])
      throw new Error(`tokenwarden ${args.join(' ')} left a ${signal} listener behind`);
  });
  // Through a core kept open, its pool may keep a connection a command opened: the core's, closed with it.
  if (through === undefined) await expectNothingLeftOpen(before, args);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** How many of each kind of handle and request keep this process alive. */
function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/**
 * What a process of its own showed: a command that leaves a socket, file or timer open keeps
 * the executable alive until main()'s 3-s stop. Closing may still be under way when run()
 * returns (a socket's last close, a file operation), so it gets those 3 s here too.
 */
async function expectNothingLeftOpen(before: ReadonlyMap<string, number>, args: readonly string[]) {
  const deadline = Date.now() + 3000;
  for (;;) {
    const left = [...activeResources()].filter(([kind, count]) => count > (before.get(kind) ?? 0));
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `tokenwarden ${args.join(' ')} left open: ${left.map(([kind, count]) => `${kind} ×${count - (before.get(kind) ?? 0)}`).join(', ')}`,
      );
    }
    await sleep(10);
  }
}

/** A stream that keeps what is written to it. */
function collect(): Writable & { text(): string } {
  let text = '';
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return Object.assign(stream, { text: () => text });
}

/**
 * Runs `tokenwarden …args` in a process of its own, as an operator would, with only the database
 * variables of `env` (none of this process's DATABASE_URL, REDIS_URL or data dir). Seconds each
 * (node, tsx, the database): for what only a real process shows.
 */
export function runCliProcess(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  input = '',
): Promise<CliResult> {
  const inherited = { ...process.env };
  for (const key of [
    'DATABASE_URL',
    'REDIS_URL',
    'TOKENWARDEN_DATA_DIR',
    'TOKENWARDEN_DB_SCHEMA',
    'LOG_LEVEL',
  ])
    delete inherited[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SOURCE_CLI, ...args], {
      env: { ...inherited, ...CHEAP_ENV, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Runs a command that must succeed with `--json`, and parses what it printed. */
export async function runJson<T = Record<string, unknown>>(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  input?: string,
  through?: Core,
): Promise<T> {
  const result = await runCli([...args, '--json'], env, input, through);
  if (result.code !== 0) {
    throw new Error(`tokenwarden ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}

/** A database for the CLI: the environment that names it, and a way to throw it away. */
export interface CliDatabase {
  readonly env: Readonly<Record<string, string>>;
  /** The core over the same database, in this process; close it before the next CLI run (PGlite is one process's). */
  openCore(): Promise<Core>;
  /**
   * Commands run through one core kept open until {@link drop}, as a running server runs a CLI
   * beside it: the same `run()`, handlers, output and exit codes, without opening the database
   * for each command (a second or more of PGlite apiece). The direct path (a command opening the
   * database itself) is what {@link runCli} without it, and the spawned runs, cover.
   */
  shared(): SharedCli;
  drop(): Promise<void>;
}

/** `tokenwarden …` over one open core; `core()` is that core, for what a test checks or seeds directly. */
interface SharedCli {
  run(args: readonly string[], input?: string): Promise<CliResult>;
  json<T = Record<string, unknown>>(args: readonly string[], input?: string): Promise<T>;
  core(): Promise<Core>;
}

/** One core for `env`, opened on first use; `close` closes it if it was. */
function sharedCli(env: Readonly<Record<string, string>>): SharedCli & { close(): Promise<void> } {
  let opened: Promise<Core> | undefined;
  const core = () => {
    opened ??= createCore(configFor(env), { defaultMetrics: false });
    return opened;
  };
  return {
    core,
    run: async (args, input) => runCli(args, env, input, await core()),
    json: async <T>(args: readonly string[], input?: string) => runJson<T>(args, env, input, await core()),
    close: async () => {
      if (opened !== undefined) await (await opened).close();
    },
  };
}

/** A {@link CliDatabase} over `env`, with `drop` removing what names it after the shared core is closed. */
function cliDatabase(env: Readonly<Record<string, string>>, remove: () => Promise<void>): CliDatabase {
  let shared: ReturnType<typeof sharedCli> | undefined;
  return {
    env,
    openCore: openCoreFor(env),
    shared: () => {
      shared ??= sharedCli(env);
      return shared;
    },
    drop: async () => {
      await shared?.close();
      await remove();
    },
  };
}

export interface CliDatabaseTarget {
  readonly name: 'pglite' | 'postgres';
  /**
   * A database named by `env`, migrated (as `tokenwarden migrate` would) unless
   * `initialised` is false: then nothing exists yet (no directory, no schema).
   */
  create(options?: { readonly initialised?: boolean }): Promise<CliDatabase>;
}

/** PGlite in a temporary directory always; PostgreSQL in a scratch schema when DATABASE_URL is set. */
export function cliDatabaseTargets(): CliDatabaseTarget[] {
  const targets: CliDatabaseTarget[] = [{ name: 'pglite', create: createPGliteDirectory }];
  const url = process.env.DATABASE_URL;
  if (url !== undefined && url !== '')
    targets.push({ name: 'postgres', create: (options) => createPostgresSchema(url, options) });
  return targets;
}

const configFor = (env: Readonly<Record<string, string>>) =>
  loadConfig({ ...CHEAP_ENV, ...env, LOG_LEVEL: 'silent' });

const openCoreFor = (env: Readonly<Record<string, string>>) => () =>
  createCore(configFor(env), { defaultMetrics: false });

async function initialise(env: Readonly<Record<string, string>>, options?: { initialised?: boolean }) {
  if (options?.initialised !== false) await migrateDatabase(configFor(env));
}

async function createPGliteDirectory(options?: { initialised?: boolean }): Promise<CliDatabase> {
  const root = await mkdtemp(join(tmpdir(), 'tokenwarden-cli-'));
  const env = { TOKENWARDEN_DATA_DIR: join(root, 'data') };
  // What `tokenwarden migrate` leaves, copied: initdb is seconds of PGlite per database.
  if (options?.initialised !== false) await copyPGliteTemplateDirectory(env.TOKENWARDEN_DATA_DIR);
  return cliDatabase(env, () => rm(root, { recursive: true, force: true }));
}

/** A schema of its own in the test database (TOKENWARDEN_DB_SCHEMA), dropped afterwards. */
async function createPostgresSchema(url: string, options?: { initialised?: boolean }): Promise<CliDatabase> {
  const schema = `tw_cli_${randomBytes(6).toString('hex')}`;
  const env = { DATABASE_URL: url, TOKENWARDEN_DB_SCHEMA: schema };
  await initialise(env, options);
  return cliDatabase(env, async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`drop schema if exists ${schema} cascade`);
    } finally {
      await client.end();
    }
  });
}
