import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm run build`'s JavaScript into a directory of its own, then the built server and CLI as an
 * operator runs them: plain node (a loader hook fails any import of tsx or esbuild, the dev
 * dependencies), and `npm start`, which must hand SIGTERM to the server.
 */
const ROOT = resolve(import.meta.dirname, '../..');
// Inside the repository: the build resolves node_modules and ../../package.json from there, as dist/ does.
const OUT = join(ROOT, `.dist-test-${process.pid}`);
const run = promisify(execFile);

/** Refuses the dev dependencies: a built server or CLI that reaches for one fails loudly. */
const NO_DEV_DEPENDENCIES = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(
  'export async function resolve(specifier, context, next) {' +
  '  if (/^(tsx|esbuild)(\\\\/|$)/.test(specifier)) throw new Error("dev dependency imported at run time: " + specifier);' +
  '  return next(specifier, context);' +
  '}'));`,
)}`;

const SERVER_ENV = {
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  TOKENWARDEN_ARGON2_MEMORY_KIB: '1024',
  TOKENWARDEN_ARGON2_ITERATIONS: '1',
  TOKENWARDEN_RATE_LIMIT_MAX: '100000',
  TOKENWARDEN_RATE_LIMIT_REFRESH_MAX: '100000',
  TOKENWARDEN_ADMIN_EMAIL: 'admin@example.com',
  TOKENWARDEN_ADMIN_PASSWORD: 'admin-password-1',
  TOKENWARDEN_SHUTDOWN_TIMEOUT_SECONDS: '10',
};

/** The environment of a spawned process: PGlite in `dataDir`, none of the test run's database settings. */
function childEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { DATABASE_URL: _db, REDIS_URL: _redis, NODE_OPTIONS: _options, ...rest } = process.env;
  return { ...rest, ...SERVER_ENV, TOKENWARDEN_DATA_DIR: dataDir, ...extra };
}

interface Spawned {
  readonly child: ChildProcess;
  readonly base: string;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns a server and waits for fastify's "Server listening at" line. */
async function spawnServer(command: string, args: string[], dataDir: string, cwd = ROOT): Promise<Spawned> {
  const child = spawn(command, args, { cwd, env: childEnv(dataDir), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  const base = await new Promise<string>((found, fail) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match !== null) found(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code }) => fail(new Error(`server exited (${code}) before listening:\n${output}`)));
    // A loaded machine (2 cores, other suites running) takes a minute to start PGlite.
    setTimeout(() => fail(new Error(`server did not listen within 240 s:\n${output}`)), 240_000).unref();
  });
  return { child, base, output: () => output, exited };
}

/** Runs the built CLI (the bin's import of dist/cli/main.js, from the test's build). */
async function builtCli(args: string[], dataDir: string) {
  const script =
    "process.argv.splice(1, 0, 'tokenwarden'); const { main } = await import(process.env.TW_CLI); await main();";
  return run(
    process.execPath,
    ['--import', NO_DEV_DEPENDENCIES, '--input-type=module', '-e', script, '--', ...args],
    {
      cwd: ROOT,
      env: { ...childEnv(dataDir, { LOG_LEVEL: 'warn' }), TW_CLI: join(OUT, 'dist/cli/main.js') },
    },
  );
}

/** The code a failed fetch carries: ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET... */
function failureCode(error: unknown): string {
  const { code, cause } = error as { code?: string; cause?: { code?: string } };
  return code ?? cause?.code ?? (error instanceof Error ? error.message : String(error));
}

/**
 * One request over `agent`, resolving with the status once the body is read. Each load worker
 * has an agent of one keep-alive connection: a connection is opened only at the start and after
 * a `Connection: close`, never in the instant the listener closes. With fetch's shared pool,
 * which opens connections whenever all are busy, a loaded run met two resets on connections
 * the server never logged: opened as the listener closed, still in the kernel's accept queue.
 */
function send(agent: Agent, url: string, method: 'GET' | 'POST', body?: string): Promise<number> {
  return new Promise((done, fail) => {
    const request = httpRequest(
      url,
      { agent, method, headers: body === undefined ? {} : { 'content-type': 'application/json' } },
      (response) => {
        response.resume();
        response.on('end', () => done(response.statusCode ?? 0));
        response.on('error', fail);
      },
    );
    request.on('error', fail);
    request.end(body);
  });
}

let dataDirs: string;
/** A data directory the built CLI created and migrated: each test starts from a copy (PGlite's initdb is slow). */
let seed: string;

async function freshDataDir(name: string): Promise<string> {
  const dir = join(dataDirs, name);
  await cp(seed, dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  dataDirs = await mkdtemp(join(tmpdir(), 'tw-built-'));
  const node = (script: string, ...args: string[]) =>
    run(process.execPath, [join(ROOT, script), ...args], { cwd: ROOT });
  // The JavaScript `npm run build` emits, without its type check and declarations: with
  // isolatedModules (tsconfig.json) tsc's JavaScript does not depend on types, so the .js and
  // .js.map files are the same bytes, in a third of the time. `npm run typecheck` checks the types.
  const tsconfig = JSON.parse(await readFile(join(ROOT, 'tsconfig.json'), 'utf8'));
  expect(tsconfig.compilerOptions.isolatedModules).toBe(true);
  await node(
    'node_modules/typescript/bin/tsc',
    ...['-p', 'tsconfig.build.json', '--outDir', join(OUT, 'dist'), '--noCheck', '--declaration', 'false'],
  );
  // `npm start --prefix OUT` runs the repository's own start script over this build.
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  await writeFile(
    join(OUT, 'package.json'),
    JSON.stringify({
      name: 'tokenwarden-build-test',
      version: pkg.version,
      private: true,
      type: 'module',
      scripts: { start: pkg.scripts.start },
    }),
  );
  seed = join(dataDirs, 'seed');
  // The console bundle is the build's second step; the CLI does not need it, so both run at once.
  const [, migrated] = await Promise.all([
    node('node_modules/tsx/dist/cli.mjs', 'scripts/build-console.ts', join(OUT, 'dist')),
    builtCli(['migrate'], seed),
  ]);
  expect(migrated.stdout).toMatch(/0001-initial/);
}, 900_000);

afterAll(async () => {
  await rm(OUT, { recursive: true, force: true });
  await rm(dataDirs, { recursive: true, force: true });
});

describe('the built server', () => {
  it('serves the API, the console page, its stylesheet and its script with no dev dependency', {
    timeout: 600_000,
  }, async () => {
    const dataDir = await freshDataDir('serve');
    const server = await spawnServer(
      process.execPath,
      ['--import', NO_DEV_DEPENDENCIES, join(OUT, 'dist/main.js')],
      dataDir,
    );
    try {
      const get = (path: string) => fetch(`${server.base}${path}`);
      const health = await get('/health');
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const page = await get('/admin');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await page.text()).toContain('<script type="module" src="/admin/app.js">');
      const script = await get('/admin/app.js');
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      const code = await script.text();
      expect(code.length).toBeGreaterThan(1_000);
      // One bundle: no import left for the browser to resolve.
      expect(code).not.toMatch(/\bfrom\s*["'][^"']+["']/);
      const css = await get('/admin/app.css');
      expect(css.status).toBe(200);
      expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
      expect((await get('/')).status).toBe(200);
      // What the start decided, in the log.
      expect(server.output()).toContain('admin bootstrap: created');
      expect(server.output()).toContain('TOKENWARDEN_MASTER_KEY is unset');
      expect(server.output()).toMatch(/"database":\{"kind":"pglite"/);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
    }
    // The CLI, built the same way, opens the data directory the server released.
    const { stdout } = await builtCli(['config', 'get', '--json'], dataDir);
    expect(JSON.parse(stdout)).toHaveProperty('globalMinTokenVersion');
    const help = await builtCli(['--help'], dataDir);
    expect(help.stdout).toContain('Usage: tokenwarden');
  });
});

describe.each([
  { launcher: 'node dist/main.js', command: process.execPath, args: () => [join(OUT, 'dist/main.js')] },
  { launcher: 'npm start', command: 'npm', args: () => ['start', '--silent', '--prefix', OUT] },
])('SIGTERM to $launcher under load', ({ command, args }) => {
  it('finishes requests in flight, refuses new ones cleanly, ends feed streams, exits 0 and releases the data directory', async () => {
    const dataDir = await freshDataDir(`signal-${command === 'npm' ? 'npm' : 'node'}`);
    const server = await spawnServer(command, args(), dataDir);
    const statuses = new Map<number, number>();
    const failures = new Map<string, number>();
    const tally = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);
    const login = await fetch(`${server.base}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: SERVER_ENV.TOKENWARDEN_ADMIN_EMAIL,
        password: SERVER_ENV.TOKENWARDEN_ADMIN_PASSWORD,
      }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    // A feed stream stays open until the server ends it.
    const stream = await fetch(`${server.base}/api/v1/revocations/stream`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(stream.status).toBe(200);
    const streamEnded = (async () => {
      const reader = stream.body!.getReader();
      try {
        while (!(await reader.read()).done) {}
        return 'ended';
      } catch (error) {
        return `failed: ${failureCode(error)}`;
      }
    })();

    let signalled = false;
    let sentAfterSignal = 0;
    const answeredBeforeSignal = Array.from({ length: 6 }, () => 0);
    const agents = Array.from({ length: 6 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    const worker = async (n: number) => {
      for (let i = 0; ; i++) {
        if (signalled) sentAfterSignal++;
        try {
          const status =
            (n + i) % 2 === 0
              ? await send(
                  agents[n]!,
                  `${server.base}/api/v1/sessions`,
                  'POST',
                  JSON.stringify({
                    email: SERVER_ENV.TOKENWARDEN_ADMIN_EMAIL,
                    password: SERVER_ENV.TOKENWARDEN_ADMIN_PASSWORD,
                  }),
                )
              : await send(agents[n]!, `${server.base}/health`, 'GET');
          tally(statuses, status);
          if (!signalled) answeredBeforeSignal[n]!++;
        } catch (error) {
          const code = failureCode(error);
          tally(failures, code);
          // The listener is gone: the server has stopped accepting, as it should.
          if (code === 'ECONNREFUSED') return;
          if (failures.size > 20) return;
        }
      }
    };
    const workers = Array.from({ length: 6 }, (_, n) => worker(n));
    // Under load once every worker has had answers (not after a fixed time: a loaded machine
    // may not have answered any yet), so the signal lands among requests in flight.
    await expect
      .poll(() => Math.min(...answeredBeforeSignal), { timeout: 120_000, interval: 20 })
      .toBeGreaterThanOrEqual(2);
    const signalledAt = Date.now();
    signalled = true;
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    const exitMs = Date.now() - signalledAt;
    await Promise.all(workers);
    for (const agent of agents) agent.destroy();

    // What the server said, should an expectation below fail (it ran in another process).
    const log = () =>
      `${JSON.stringify({ exit, exitMs, failures: Object.fromEntries(failures), statuses: Object.fromEntries(statuses) })}\nserver output:\n${server.output().slice(-4_000)}`;
    expect({ exit, failures: Object.fromEntries(failures) }, log()).toEqual({
      exit: { code: 0, signal: null },
      failures: { ECONNREFUSED: 6 },
    });
    // Every answer is a success or, for a request that arrived while closing, a clean 503.
    expect(
      [...statuses.keys()].filter((s) => s !== 200 && s !== 201 && s !== 503),
      log(),
    ).toEqual([]);
    expect((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0)).toBeGreaterThan(6);
    expect(sentAfterSignal).toBeGreaterThan(0);
    expect(await streamEnded, log()).toBe('ended');
    // Bounded: inside the drain deadline (10 s) plus the close grace (10 s) even on a loaded machine.
    expect(exitMs, log()).toBeLessThan(20_000);
    expect(server.output()).toContain('"msg":"stopped"');
    // Nothing left behind: the port refuses, and the data directory opens again (lock released).
    await expect(fetch(`${server.base}/health`)).rejects.toThrow();
    const { stdout } = await builtCli(['config', 'get', '--json'], dataDir);
    expect(JSON.parse(stdout)).toHaveProperty('globalMinTokenVersion');
  }, 600_000);
});
