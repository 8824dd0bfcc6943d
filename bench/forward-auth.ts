/**
 * What a gateway's check costs: `GET /api/v1/forward-auth` beside `GET /api/v1/users/me`.
 *
 *   npx tsx bench/forward-auth.ts [--quick] [--no-write]
 *
 * One server on a scratch PostgreSQL database, 16 users with a session each (warm cache:
 * every token was checked once before). autocannon, 16 connections, each route in turn for
 * `rounds` alternated rounds: the forward-auth check with a valid token (200, identity
 * headers, no body), the same with no token (401), and `GET /users/me` (the same bearer
 * check, then the user read and a JSON body). Server CPU per request from /proc/<pid>/stat
 * over each run: what one warm check costs the server, HTTP included, on a machine whose
 * other core runs autocannon.
 */
import autocannon from 'autocannon';
import {
  CHEAP_ARGON2_ENV,
  int,
  load,
  median,
  ms,
  parseFlags,
  type Row,
  scratchPostgres,
  table,
  writeSection,
} from './support/env.js';
import { cpuSeconds } from './support/proc-stat.js';
import { sessions, startServer } from './support/server.js';

interface Run {
  readonly what: string;
  readonly path: string;
  readonly withToken: boolean;
}

const RUNS: readonly Run[] = [
  { what: 'GET /api/v1/forward-auth, valid token (200)', path: '/api/v1/forward-auth', withToken: true },
  { what: 'GET /api/v1/forward-auth, no token (401)', path: '/api/v1/forward-auth', withToken: false },
  { what: 'GET /api/v1/users/me, valid token (200)', path: '/api/v1/users/me', withToken: true },
];

const FORWARD_AUTH_HEADER: Row = [
  'route',
  'connections',
  'requests/s (each round)',
  'non-2xx / errors',
  'p50 (median of rounds)',
  'p99 (median of rounds)',
  'server CPU per request',
  'load average',
];

export async function forwardAuth(quick: boolean): Promise<string> {
  const scratch = await scratchPostgres('fwdauth');
  const samples = new Map<
    string,
    { rates: number[]; cpu: number[]; p50: number[]; p99: number[]; bad: number[] }
  >();
  const loads: string[] = [];
  try {
    const server = await startServer({
      env: {
        DATABASE_URL: scratch.url,
        DATABASE_POOL_SIZE: '8',
        ...CHEAP_ARGON2_ENV,
      },
      maxSeconds: 240,
    });
    try {
      const users = await sessions(server.base, 16);
      const pid = server.child.pid as number;
      const seconds = quick ? 2 : 8;
      const rounds = quick ? 1 : 3;
      // Warm: JIT, and each token checked once (its signature remembered, the cache filled).
      for (const run of RUNS) {
        await autocannon({ url: `${server.base}${run.path}`, connections: 4, amount: 400 });
      }
      for (const user of users) {
        await fetch(`${server.base}/api/v1/forward-auth`, {
          headers: { authorization: `Bearer ${user.accessToken}` },
        });
      }
      for (let round = 0; round < rounds; round++) {
        for (const run of RUNS) {
          const before = cpuSeconds(pid) ?? 0;
          const result = await autocannon({
            url: server.base,
            connections: 16,
            duration: seconds,
            requests: users.map((u) => ({
              method: 'GET' as const,
              path: run.path,
              headers: run.withToken ? { authorization: `Bearer ${u.accessToken}` } : {},
            })),
          });
          const cpu = (cpuSeconds(pid) ?? 0) - before;
          const answered = result.requests.total;
          const expected = run.withToken ? result['2xx'] : result['4xx'];
          const entry = samples.get(run.what) ?? { rates: [], cpu: [], p50: [], p99: [], bad: [] };
          entry.rates.push(expected / seconds);
          entry.cpu.push((cpu * 1e6) / Math.max(answered, 1));
          entry.p50.push(result.latency.p50);
          entry.p99.push(result.latency.p99);
          entry.bad.push(answered - expected + result.errors + result.timeouts);
          samples.set(run.what, entry);
        }
        loads.push(load());
      }
    } finally {
      await server.stop();
    }
  } finally {
    await scratch.drop();
  }
  const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  // autocannon's latencies are whole milliseconds: 0 is below one.
  const latency = (value: number) => (value < 1 ? '< 1 ms' : ms(value));
  const rows: Row[] = RUNS.map((run) => {
    const s = samples.get(run.what);
    if (s === undefined) throw new Error(`no samples for ${run.what}`);
    return [
      run.what,
      '16',
      s.rates.map(int).join(' / '),
      `${s.bad.reduce((a, b) => a + b, 0)}`,
      latency(median(s.p50)),
      latency(median(s.p99)),
      `${int(mean(s.cpu))} µs`,
      loads.join(' / '),
    ];
  });
  return table(FORWARD_AUTH_HEADER, rows);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv);
  const body = await forwardAuth(flags.quick);
  console.log(body);
  if (flags.write) await writeSection(flags.quick ? 'forward-auth-quick' : 'forward-auth', body);
}
