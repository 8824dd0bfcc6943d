import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCore } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { copyPGliteTemplateDirectory } from '../support/databases.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

/**
 * `npm start` (src/main.ts through tsx, in a working directory of its own) failing to start:
 * each case is one JSON line on stderr with a stable `code` and the cause, a non-zero exit,
 * and no stack unless LOG_LEVEL=debug.
 */
const MAIN = resolve(import.meta.dirname, '../../src/main.ts');
const TSX = import.meta.resolve('tsx');
const POSTGRES = process.env.DATABASE_URL;
const BASE_ENV = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  PORT: '0',
  LOG_LEVEL: 'info',
  TOKENWARDEN_ARGON2_MEMORY_KIB: '64',
  TOKENWARDEN_ARGON2_ITERATIONS: '1',
};

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function workingDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tw-start-'));
  dirs.push(dir);
  return dir;
}

interface Run {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;
}

/** Starts the server; resolves when it exits, or (with `untilReady`) once it logs that it is ready. */
function start(
  env: Record<string, string>,
  options: { cwd?: string; untilReady?: boolean; timeoutMs?: number; onStdout?: (all: string) => void } = {},
): Promise<Run & { readonly child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', TSX, MAIN], {
    cwd: options.cwd ?? workingDirectory(),
    env: { ...BASE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  return new Promise((resolveRun, rejectRun) => {
    const timer = setTimeout(
      () => rejectRun(new Error(`no outcome in time\nstdout: ${stdout}\nstderr: ${stderr}`)),
      options.timeoutMs ?? 90_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      options.onStdout?.(stdout);
      if (options.untilReady === true && stdout.includes('"tokenwarden is ready"')) {
        clearTimeout(timer);
        resolveRun({ stdout, stderr, exitCode: null, child });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ stdout, stderr, exitCode: code, child });
    });
  });
}

/** The one line of a failed start: stderr holds exactly one line, a JSON object. */
function failureLine(run: Run): Record<string, unknown> {
  const lines = run.stderr.split('\n').filter((line) => line !== '');
  expect(lines, run.stderr).toHaveLength(1);
  const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
  expect(entry).toMatchObject({ level: 60, name: 'startup' });
  expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return entry;
}

async function occupiedPort(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return server;
}

describe('a start that fails says why on one line', () => {
  it('a bad variable: named, with its value, but never a secret’s; exit 2', async () => {
    const run = await start({
      PORT: 'eighty',
      TOKENWARDEN_ADMIN_EMAIL: 'admin@example.com',
      TOKENWARDEN_ADMIN_PASSWORD: 'short',
      DATABASE_URL: 'mysql://user:hunter2-secret@db/x',
      TOKENWARDEN_SIGNING_ALG: 'RS256',
    });
    expect(run.exitCode).toBe(2);
    const line = failureLine(run);
    expect(line.code).toBe('config_invalid');
    expect(line.stack).toBeUndefined();
    const problems = line.problems as { variable: string; value?: string; message: string }[];
    expect(problems.find((p) => p.variable === 'PORT')).toMatchObject({ value: 'eighty' });
    // The message names the algorithms taken.
    expect(problems.find((p) => p.variable === 'TOKENWARDEN_SIGNING_ALG')).toMatchObject({
      value: 'RS256',
      message: expect.stringContaining('EdDSA|ES256'),
    });
    const password = problems.find((p) => p.variable === 'TOKENWARDEN_ADMIN_PASSWORD');
    expect(password).toBeDefined();
    expect(password).not.toHaveProperty('value');
    expect(problems.find((p) => p.variable === 'DATABASE_URL')?.value).toBe('mysql://user:***@db/x');
    expect(run.stderr).not.toContain('short');
    expect(run.stderr).not.toContain('hunter2');

    // At LOG_LEVEL=debug the same line carries the stack.
    const debug = await start({ PORT: 'eighty', LOG_LEVEL: 'debug' });
    expect(debug.exitCode).toBe(2);
    expect(failureLine(debug).stack).toContain('ConfigError');
  }, 120_000);

  it('a port in use: port_in_use before the admin bootstrap writes anything; exit 1', async () => {
    const taken = await occupiedPort();
    try {
      const cwd = workingDirectory();
      const run = await start(
        {
          PORT: String((taken.address() as { port: number }).port),
          TOKENWARDEN_ADMIN_EMAIL: 'admin@example.com',
          TOKENWARDEN_ADMIN_PASSWORD: 'admin-password-1',
        },
        { cwd },
      );
      expect(run.exitCode).toBe(1);
      const line = failureLine(run);
      expect(line).toMatchObject({ code: 'port_in_use', cause: expect.stringContaining('EADDRINUSE') });
      expect(line.msg).toContain('is in use by another process');
      // Nothing was opened or created: the data directory does not exist.
      expect(existsSync(join(cwd, '.tokenwarden'))).toBe(false);
    } finally {
      taken.close();
    }
  });

  it('a wrong master key: master_key_wrong, and the stack only at LOG_LEVEL=debug', async () => {
    const cwd = workingDirectory();
    const dataDir = join(cwd, '.tokenwarden');
    // A migrated directory to start from (no initdb, no migrations here): the core seals its key in it.
    await copyPGliteTemplateDirectory(dataDir);
    const core = await createCore(
      loadConfig({
        TOKENWARDEN_DATA_DIR: dataDir,
        TOKENWARDEN_MASTER_KEY: randomBytes(32).toString('base64'),
      }),
    );
    await core.close();
    const otherKey = randomBytes(32).toString('base64');
    const run = await start({ TOKENWARDEN_MASTER_KEY: otherKey }, { cwd });
    expect(run.exitCode).toBe(1);
    const line = failureLine(run);
    expect(line.code).toBe('master_key_wrong');
    expect(line.msg).toContain('TOKENWARDEN_MASTER_KEY cannot decrypt signing key');
    expect(line.stack).toBeUndefined();
    expect(run.stderr).not.toContain(otherKey);
  }, 180_000);

  it('an unreachable database: tried again for TOKENWARDEN_DB_STARTUP_WAIT_SECONDS, then database_unreachable', async () => {
    const closed = await occupiedPort();
    const port = (closed.address() as { port: number }).port;
    await new Promise((done) => closed.close(done));
    const run = await start({
      DATABASE_URL: `postgres://postgres:pw-not-shown@127.0.0.1:${port}/test`,
      TOKENWARDEN_DB_STARTUP_WAIT_SECONDS: '1',
    });
    expect(run.exitCode).toBe(1);
    const line = failureLine(run);
    expect(line.code).toBe('database_unreachable');
    expect(line.msg).toMatch(/gave up after \d+ attempts in 1 s/);
    expect(line.cause).toContain('ECONNREFUSED');
    expect(run.stderr).not.toContain('pw-not-shown');
    // Each retry said so on stdout, at warn.
    const retries = run.stdout
      .split('\n')
      .filter((l) => l.includes('the database is not reachable yet'))
      .map((l) => JSON.parse(l) as { level: number });
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.every((r) => r.level === 40)).toBe(true);
  }, 120_000);
});

describe.skipIf(POSTGRES === undefined)('a database that comes up after the server (a compose start)', () => {
  it('is waited for: the server starts once it answers', async () => {
    const target = new URL(POSTGRES!);
    const proxy = await startTcpProxy(Number(target.port || 5432), target.hostname);
    proxy.refuse();
    let retriesLogged = 0;
    try {
      const starting = start(
        {
          DATABASE_URL: proxy.rewrite(POSTGRES!),
          TOKENWARDEN_DB_STARTUP_WAIT_SECONDS: '30',
          TOKENWARDEN_DB_SCHEMA: `tw_start_${process.pid}`,
        },
        {
          untilReady: true,
          onStdout: (all) => {
            retriesLogged = all.split('the database is not reachable yet').length - 1;
          },
        },
      );
      // It fails twice (the database is "down"), then the database comes up.
      await expect.poll(() => retriesLogged, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
      proxy.accept();
      const run = await starting;
      expect(run.exitCode).toBeNull();
      expect(run.stdout).toContain('the database is not reachable yet');
      run.child.kill('SIGTERM');
      await new Promise((exited) => run.child.once('exit', exited));
    } finally {
      await proxy.close();
    }
  }, 120_000);
});

describe('.env in the working directory', () => {
  it('configures npm start, and the environment wins over it', async () => {
    const cwd = workingDirectory();
    // The file sets two variables wrong; the environment sets one of them right. The start
    // fails naming only the other: .env was read, and the environment won where both set one.
    writeFileSync(join(cwd, '.env'), 'PORT=eighty\nTOKENWARDEN_DB_SCHEMA=Not-A-Schema\n');
    const run = await start({ PORT: '0' }, { cwd });
    expect(run.exitCode).toBe(2);
    const line = failureLine(run);
    expect(line.problems).toEqual([
      expect.objectContaining({ variable: 'TOKENWARDEN_DB_SCHEMA', value: 'Not-A-Schema' }),
    ]);
  }, 120_000);
});
