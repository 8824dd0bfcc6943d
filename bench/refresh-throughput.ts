/**
 * Refresh throughput against a real server process on 127.0.0.1.
 *
 *   npx tsx bench/refresh-throughput.ts [--db pglite|postgres] [--seconds 10] [--connections 32]
 *
 * Starts `src/main.ts` in a child process (PGlite in a temp dir, or a scratch
 * PostgreSQL database it creates and drops), logs in one session per connection,
 * then each connection refreshes its own token in a loop for the given time. Every
 * request rotates the token, so each loop carries the newest one forward.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'pglite' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    port: { type: 'string', default: '3917' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const port = Number(values.port);
const base = `http://127.0.0.1:${port}`;
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function withScratchDatabase<T>(run: (env: Record<string, string>) => Promise<T>): Promise<T> {
  if (values.db === 'pglite') {
    const dir = await mkdtemp(join(tmpdir(), 'tokenwarden-bench-'));
    try {
      return await run({ TOKENWARDEN_DATA_DIR: dir });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const name = `tokenwarden_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return await run({ DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: '16' });
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function main(): Promise<void> {
  await withScratchDatabase(async (dbEnv) => {
    const server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        ...(values.db === 'pglite' ? { DATABASE_URL: '' } : {}),
        ...dbEnv,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        TOKENWARDEN_RATE_LIMIT_MAX: '1000000',
        TOKENWARDEN_RATE_LIMIT_REFRESH_MAX: '100000000',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    try {
      for (let i = 0; ; i++) {
        if (i > 200) throw new Error('server did not become ready');
        const ok = await fetch(`${base}/ready`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        await sleep(100);
      }
      const tokens: string[] = [];
      for (let i = 0; i < connections; i++) {
        const email = `bench${i}@example.com`;
        await post('/api/v1/users', { email, password: 'benchmark password' });
        const login = await post('/api/v1/sessions', { email, password: 'benchmark password' });
        if (login.status !== 201) throw new Error(`login failed: ${JSON.stringify(login.json)}`);
        tokens.push(login.json.refreshToken as string);
      }

      const latencies: number[] = [];
      let failures = 0;
      const deadline = performance.now() + seconds * 1000;
      await Promise.all(
        tokens.map(async (first) => {
          let token = first;
          while (performance.now() < deadline) {
            const started = performance.now();
            const res = await post('/api/v1/tokens', { refreshToken: token });
            latencies.push(performance.now() - started);
            if (res.status !== 200) {
              failures++;
              return;
            }
            token = res.json.refreshToken as string;
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      const pct = (p: number) =>
        latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
      const result = {
        database: values.db,
        connections,
        seconds,
        requests: latencies.length,
        failures,
        requestsPerSecond: Math.round(latencies.length / seconds),
        p50ms: Number(pct(0.5).toFixed(2)),
        p99ms: Number(pct(0.99).toFixed(2)),
      };
      console.log(JSON.stringify(result));
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
