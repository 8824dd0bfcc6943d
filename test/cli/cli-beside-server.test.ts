import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The default deployment: `npm start` on the embedded database holds the data directory,
 * and an operator runs the CLI beside it. The command goes to the server over the Unix
 * socket in the data directory and runs there: same output and exit code, the server's
 * caches change at once, and the audit names the CLI's user.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const TSX = import.meta.resolve('tsx');
const CLI = `process.argv.splice(1, 0, 'tokenwarden'); const { main } = await import(${JSON.stringify(join(ROOT, 'src/cli/main.ts'))}); await main();`;
const ENV = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  USER: process.env.USER ?? 'operator',
  LOG_LEVEL: 'info',
  TOKENWARDEN_ARGON2_MEMORY_KIB: '64',
  TOKENWARDEN_ARGON2_ITERATIONS: '1',
  TOKENWARDEN_ADMIN_EMAIL: 'admin@example.com',
  TOKENWARDEN_ADMIN_PASSWORD: 'admin-password-1',
};

let cwd: string;
let server: ChildProcess;
let base: string;
let readyLine: Record<string, unknown>;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'tw-beside-'));
  // Read by the server and the CLI alike; the environment's LOG_LEVEL wins over the file's.
  writeFileSync(join(cwd, '.env'), 'LOG_LEVEL=silent\nTOKENWARDEN_ACCESS_TOKEN_TTL_SECONDS=600\n');
  server = spawn(process.execPath, ['--import', TSX, join(ROOT, 'src/main.ts')], {
    cwd,
    env: { ...ENV, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  base = await new Promise<string>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`the server did not start:\n${log}`)), 120_000);
    server.stdout!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (listening !== null && log.includes('"tokenwarden is ready"')) {
        clearTimeout(timer);
        readyLine = JSON.parse(log.split('\n').find((l) => l.includes('"tokenwarden is ready"'))!);
        ready(listening[1]!);
      }
    });
    server.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    server.on('exit', (code) => fail(new Error(`the server exited (${code}):\n${log}`)));
  });
}, 150_000);

afterAll(async () => {
  if (server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((exited) => server.once('exit', exited));
  }
  rmSync(cwd, { recursive: true, force: true });
});

function cli(
  args: readonly string[],
  stdin = '',
  env: Record<string, string> = {},
  dir = cwd,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', CLI, '--', ...args], {
    cwd: dir,
    env: { ...ENV, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(stdin);
  return new Promise((done) => child.on('exit', (code) => done({ code, stdout, stderr })));
}

async function post(path: string, body: unknown, token?: string): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
}

describe('the CLI beside a running server on the embedded database', () => {
  it('started from .env in its working directory, the environment winning', () => {
    expect(readyLine.envFile).toEqual({
      path: join(cwd, '.env'),
      loaded: 1,
      shadowedByEnvironment: ['LOG_LEVEL'],
    });
    expect(readyLine.cliChannel).toBe(join(cwd, '.tokenwarden', 'control.sock'));
  });

  it('listens on a socket only its owner may open', () => {
    const mode = statSync(join(cwd, '.tokenwarden', 'control.sock')).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it('disables a user through the server: the token is refused at once, the audit names the CLI user', async () => {
    expect(
      (await post('/api/v1/users', { email: 'mallory@example.com', password: 'mallory-password-1' })).status,
    ).toBe(201);
    const login = await post('/api/v1/sessions', {
      email: 'mallory@example.com',
      password: 'mallory-password-1',
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const me = () =>
      fetch(`${base}/api/v1/users/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect((await me()).status).toBe(200);

    const disabled = await cli(['users', 'disable', 'mallory@example.com']);
    expect(disabled.code).toBe(0);
    // It says where it acted: through the server, on its data directory (absolute).
    expect(disabled.stderr).toBe(
      `tokenwarden: through the running server (pid ${server.pid}), on the PGlite data directory ${join(cwd, '.tokenwarden')}\n`,
    );
    expect(disabled.stdout).toContain('Disabled mallory@example.com');
    // The server's own cache was told by the handler it ran: no wait for a TTL.
    expect((await me()).status).toBe(401);

    const audit = await cli(['audit', 'list', '--json', '--limit', '5']);
    expect(audit.code).toBe(0);
    const rows =
      (JSON.parse(audit.stdout) as { items?: unknown[] }).items ?? (JSON.parse(audit.stdout) as unknown[]);
    const row = (rows as { action: string; actor: string }[]).find((r) => r.action === 'user.disabled');
    expect(row?.actor).toMatch(/^cli:/);
  }, 120_000);

  it('reads stdin through the server, and gives the same exit codes as direct access', async () => {
    const created = await cli(['users', 'create', '--email', 'bob@example.com'], 'bob-password-123\n');
    expect(created.code, created.stderr).toBe(0);
    expect(
      (await post('/api/v1/sessions', { email: 'bob@example.com', password: 'bob-password-123' })).status,
    ).toBe(201);
    // A failed operation (1) and a bad command line (2), as without a server.
    expect((await cli(['users', 'disable', 'nobody@example.com'])).code).toBe(1);
    expect((await cli(['users', 'disable'])).code).toBe(2);
  }, 120_000);

  it('says an empty DATABASE_URL was taken as unset, and where it went', async () => {
    const listed = await cli(['users', 'list', '--json'], '', { DATABASE_URL: '' });
    expect(listed.code).toBe(0);
    expect(listed.stderr).toBe(
      'tokenwarden: DATABASE_URL is set but empty: treated as unset\n' +
        `tokenwarden: through the running server (pid ${server.pid}), on the PGlite data directory ${join(cwd, '.tokenwarden')}\n`,
    );
    expect(JSON.parse(listed.stdout).items.length).toBeGreaterThan(0);
  }, 60_000);

  it('writes and reads files named relative to the CLI, not to the server (audit export, verify --from)', async () => {
    const elsewhere = join(cwd, 'elsewhere');
    mkdirSync(elsewhere);
    const env = { TOKENWARDEN_DATA_DIR: join(cwd, '.tokenwarden') };
    const exported = await cli(['audit', 'export', '--output', 'trail.jsonl'], '', env, elsewhere);
    expect(exported.code, exported.stderr).toBe(0);
    expect(existsSync(join(elsewhere, 'trail.jsonl'))).toBe(true);
    expect(existsSync(join(cwd, 'trail.jsonl'))).toBe(false);
    const verified = await cli(['audit', 'verify', '--from=trail.jsonl'], '', env, elsewhere);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^Audit trail intact: /);
  }, 120_000);

  it('refuses migrate while the server runs', async () => {
    const migrate = await cli(['migrate']);
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toContain('is in use by process');
  }, 60_000);
});
