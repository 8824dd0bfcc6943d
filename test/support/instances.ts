import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_ENV, USER_PASSWORD } from './test-app.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The address in front of the instances a test starts (never dialled: each is reached by its own port). */
const SHARED_PUBLIC_URL = 'http://tokenwarden.localhost';

/** Ports tests may use on this machine; all traffic stays on 127.0.0.1. */
const PORT_RANGE = { first: 3340, last: 3399 } as const;

/** A PostgreSQL database made for one run (several processes share it) and dropped after. */
export interface ScratchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

export async function createScratchDatabase(adminUrl: string): Promise<ScratchDatabase> {
  const name = `tw_scratch_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A 127.0.0.1 port in the tests' range that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const span = PORT_RANGE.last - PORT_RANGE.first + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = PORT_RANGE.first + ((start + i) % span);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${PORT_RANGE.first}-${PORT_RANGE.last}`);
}

export interface Instance {
  readonly name: string;
  readonly base: string;
  readonly process: ChildProcess;
  /** Everything the process wrote to stderr so far (for failure messages). */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node --import tsx src/main.ts` on a free port with the tests' cheap argon2,
 * high rate limits and admin, plus `env`. The parent's DATABASE_URL/REDIS_URL are not
 * inherited: each instance gets exactly the ones given. Resolves once `/ready` is 200.
 */
export async function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => key !== 'DATABASE_URL' && key !== 'REDIS_URL' && !key.startsWith('TOKENWARDEN_'),
    ),
  );
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...inherited,
        ...TEST_ENV,
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        // What a deployment of several instances sets: one public URL, so one issuer for all.
        TOKENWARDEN_PUBLIC_URL: SHARED_PUBLIC_URL,
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const instance: Instance = {
      name,
      base: `http://127.0.0.1:${port}`,
      process: child,
      stderr: () => stderr,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const killed = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(killed);
        }
      },
    };
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null) {
      // Serving on its database: an instance started with a part deliberately down (a Redis
      // that is not there) answers 503 naming it, and is still the instance a test wants.
      const ok = await fetch(`${instance.base}/ready`, { signal: AbortSignal.timeout(2_500) }).then(
        async (r) => ((await r.json()) as { database?: string }).database === 'up',
        () => false,
      );
      if (ok) return instance;
      await sleep(100);
    }
    await instance.stop();
    // Someone took the port between the check and the listen: try another.
    if (stderr.includes('EADDRINUSE') && attempt < 3) continue;
    throw new Error(`${name} did not become ready:\n${stderr}`);
  }
}

export interface Response {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A JSON request to an instance, bounded in time. */
export async function call(
  base: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  options: { body?: unknown; token?: string } = {},
): Promise<Response> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

function expectStatus(res: Response, status: number, what: string): Response {
  if (res.status !== status)
    throw new Error(`${what}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}

export async function register(base: string, email: string): Promise<string> {
  const res = expectStatus(
    await call(base, 'POST', '/api/v1/users', { body: { email, password: USER_PASSWORD } }),
    201,
    `register ${email}`,
  );
  return res.body.id as string;
}

export async function login(base: string, email: string, password = USER_PASSWORD): Promise<string> {
  const res = expectStatus(
    await call(base, 'POST', '/api/v1/sessions', { body: { email, password } }),
    201,
    `login ${email}`,
  );
  return res.body.accessToken as string;
}

const adminLogin = (base: string) => login(base, ADMIN_EMAIL, ADMIN_PASSWORD);

/** The bearer check, as any protected route runs it. */
export async function me(base: string, token: string): Promise<number> {
  return (await call(base, 'GET', '/api/v1/users/me', { token })).status;
}

export type Rotation = 'global' | 'user' | 'logout';

/**
 * Makes `token` (of user `userId`) stop working by a change on `base`: a global
 * rotation (no grace), an admin's user rotation, or a logout of its session.
 * Returns when the change's request was sent (`performance.now()`).
 */
export async function revoke(base: string, kind: Rotation, token: string, userId: string): Promise<number> {
  if (kind === 'logout') {
    const sent = performance.now();
    expectStatus(await call(base, 'DELETE', '/api/v1/sessions/current', { token }), 204, 'logout');
    return sent;
  }
  const admin = await adminLogin(base);
  const sent = performance.now();
  const res =
    kind === 'global'
      ? await call(base, 'POST', '/api/v1/admin/security/rotations', {
          token: admin,
          body: { reason: 'propagation test', gracePeriodSeconds: 0 },
        })
      : await call(base, 'POST', `/api/v1/admin/users/${userId}/rotations`, {
          token: admin,
          body: { reason: 'propagation test' },
        });
  expectStatus(res, 201, `${kind} rotation`);
  return sent;
}

/**
 * Polls the bearer check on `base` until `token` is rejected; the milliseconds from
 * `since` to the first rejection, or null past `timeoutMs`.
 */
export async function msUntilRejected(
  base: string,
  token: string,
  since: number,
  timeoutMs: number,
): Promise<number | null> {
  while (performance.now() - since < timeoutMs) {
    const status = await me(base, token);
    if (status === 401) return performance.now() - since;
    if (status !== 200) throw new Error(`unexpected ${status} while polling ${base}`);
  }
  return null;
}

export interface Propagation {
  /** From a's answer to the change (committed, published) to b's first rejection; null on timeout. */
  readonly afterResponse: number | null;
  /** From sending the change to a, so a's own work (transaction, publish) is included. */
  readonly afterRequest: number | null;
}

/**
 * One measurement: a fresh session on `a`, its access token checked on `b` (warming
 * b's cache), the change made on `a`, then b polled until it rejects the token.
 */
export async function measurePropagation(
  a: string,
  b: string,
  kind: Rotation,
  email: string,
  userId: string,
  timeoutMs: number,
): Promise<Propagation> {
  const token = await login(a, email);
  for (let i = 0; i < 2; i++) {
    const status = await me(b, token);
    if (status !== 200) throw new Error(`the fresh token is not accepted on ${b}: ${status}`);
  }
  const sent = await revoke(a, kind, token, userId);
  const answered = performance.now();
  const afterResponse = await msUntilRejected(b, token, answered, timeoutMs);
  return { afterResponse, afterRequest: afterResponse === null ? null : afterResponse + (answered - sent) };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
