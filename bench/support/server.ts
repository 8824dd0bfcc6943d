/**
 * A tokenwarden server in a child process on 127.0.0.1 (ports 3500-3599), bounded
 * in time: killed by `stop()`, and by a watchdog after `maxSeconds` whatever happens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BenchServer {
  readonly base: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

let nextPort = 3500 + (process.pid % 50);

export async function startServer(options: {
  /** Working directory (a checkout of the repository). */
  readonly root?: string;
  /** Entry script relative to root; default `src/main.ts`. */
  readonly entry?: string;
  readonly env: Readonly<Record<string, string>>;
  readonly nodeArgs?: readonly string[];
  readonly maxSeconds?: number;
  /** How long it may take to answer /ready (default 30 s; more on a machine busy with other work). */
  readonly readySeconds?: number;
  /** A port outside tokenwarden's 3500-3599 (the peer's servers use 3600-3649). */
  readonly port?: number;
}): Promise<BenchServer> {
  const port = options.port ?? nextPort++;
  if (nextPort > 3599) nextPort = 3500;
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', options.entry ?? 'src/main.ts'],
    {
      cwd: options.root ?? process.cwd(),
      env: {
        ...process.env,
        DATABASE_URL: '',
        REDIS_URL: '',
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        TOKENWARDEN_RATE_LIMIT_MAX: '1000000',
        TOKENWARDEN_RATE_LIMIT_REFRESH_MAX: '100000000',
        ...options.env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const watchdog = setTimeout(() => child.kill('SIGKILL'), (options.maxSeconds ?? 300) * 1000);
  watchdog.unref();
  const stop = async () => {
    clearTimeout(watchdog);
    if (child.exitCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };
  const readyBy = performance.now() + (options.readySeconds ?? 30) * 1000;
  for (;;) {
    if (performance.now() > readyBy || child.exitCode !== null) {
      await stop();
      throw new Error(`server on ${base} did not become ready`);
    }
    const ok = await fetch(`${base}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await sleep(100);
  }
  return { base, child, stop };
}

async function post(
  base: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<{ readonly status: number; readonly json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Registers `count` users and logs each in once: one session (and token pair) each. */
export async function sessions(
  base: string,
  count: number,
): Promise<{ readonly refreshToken: string; readonly accessToken: string }[]> {
  const pairs: { refreshToken: string; accessToken: string }[] = [];
  for (let i = 0; i < count; i++) {
    const email = `bench${i}-${Math.random().toString(36).slice(2)}@example.com`;
    const password = 'benchmark password';
    const created = await post(base, '/api/v1/users', { email, password });
    if (created.status !== 201) throw new Error(`register failed: ${JSON.stringify(created.json)}`);
    const login = await post(base, '/api/v1/sessions', { email, password });
    if (login.status !== 201) throw new Error(`login failed: ${JSON.stringify(login.json)}`);
    pairs.push({
      refreshToken: login.json.refreshToken as string,
      accessToken: login.json.accessToken as string,
    });
  }
  return pairs;
}
