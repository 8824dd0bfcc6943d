/**
 * How long a service that verifies tokens itself keeps accepting one after it was made
 * invalid: plain jose over the JWKS (what most services do) against the verifier package,
 * which follows the revocation feed. Also what the verifier costs per request and how much
 * memory it holds for 100 000 user rotations inside one access-token TTL.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/downstream-acceptance.ts [--rounds 15]
 *
 * Two tokenwarden processes share a scratch PostgreSQL database (PostgreSQL NOTIFY between
 * them). The change is made on A; the verifier follows the feed served by B; plain jose
 * fetches B's JWKS. Per round: log in on A, both verifiers accept the token, make the change
 * on A, then check the verifier in a tight loop (every 0.5 ms) until it refuses, timed from
 * A's answer. Plain jose is checked once the verifier has refused and once more a second
 * later: it accepts until `exp`.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createVerifier, type Verifier } from '@tokenwarden/verifier';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import pg from 'pg';
import {
  call,
  createScratchDatabase,
  type Instance,
  login,
  register,
  startInstance,
} from '../test/support/instances.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../test/support/test-app.js';
import { int, load, median, type Row, table } from './support/env.js';

type Change = 'user rotation' | 'global rotation, grace 0' | 'logout' | 'signing key retired';
const CHANGES: readonly Change[] = [
  'user rotation',
  'global rotation, grace 0',
  'logout',
  'signing key retired',
];
const TIMEOUT_MS = 5_000;

export interface DownstreamResult {
  readonly acceptance: string;
  /** Every verifier delay (ms from A's answer to the verifier's refusal), for the chart. */
  readonly delays: readonly { readonly change: Change; readonly ms: number }[];
  readonly cost: string;
  readonly memory: string;
}

async function adminToken(base: string): Promise<string> {
  return login(base, ADMIN_EMAIL, ADMIN_PASSWORD);
}

function expectStatus(res: { status: number; body: unknown }, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
}

async function makeChange(a: string, change: Change, token: string, userId: string): Promise<void> {
  if (change === 'logout') {
    expectStatus(await call(a, 'DELETE', '/api/v1/sessions/current', { token }), 204, change);
    return;
  }
  const admin = await adminToken(a);
  if (change === 'user rotation') {
    expectStatus(
      await call(a, 'POST', `/api/v1/admin/users/${userId}/rotations`, {
        token: admin,
        body: { reason: 'bench' },
      }),
      201,
      change,
    );
  } else if (change === 'global rotation, grace 0') {
    expectStatus(
      await call(a, 'POST', '/api/v1/admin/security/rotations', {
        token: admin,
        body: { reason: 'bench', gracePeriodSeconds: 0 },
      }),
      201,
      change,
    );
  } else {
    const { kid } = decodeProtectedHeader(token);
    expectStatus(
      await call(a, 'POST', `/api/v1/admin/signing-keys/${kid}/retirement`, {
        token: admin,
        body: { reason: 'bench', replace: true },
      }),
      200,
      change,
    );
  }
}

/** Milliseconds from `since` until the verifier refuses the token, or null on timeout. */
async function untilRefused(verifier: Verifier, token: string, since: number): Promise<number | null> {
  for (;;) {
    const result = await verifier.verify(token);
    const now = performance.now();
    if (!result.ok) return now - since;
    if (now - since > TIMEOUT_MS) return null;
    await sleep(0.5);
  }
}

const fmt = (values: readonly number[]) =>
  values.length === 0 ? '–' : `${median(values).toFixed(1)} ms / ${Math.max(...values).toFixed(1)} ms`;

async function acceptance(
  a: Instance,
  b: Instance,
  clientId: string,
  secret: string,
  rounds: number,
  samples: { change: Change; ms: number }[],
) {
  // One JWKS cache per round, filled by the fresh token: a key made by the previous round's
  // retirement would otherwise wait out jose's 30 s refetch cooldown.
  let jwks = createRemoteJWKSet(new URL(`${b.base}/.well-known/jwks.json`));
  const plainAccepts = async (token: string) =>
    jwtVerify(token, jwks, { algorithms: ['EdDSA'] }).then(
      () => true,
      () => false,
    );
  const verifier = createVerifier({
    baseUrl: b.base,
    audience: 'tokenwarden',
    clientId,
    clientSecret: secret,
    maxStalenessSeconds: 30,
  });
  await verifier.ready();
  const rows: Row[] = [];
  try {
    for (const change of CHANGES) {
      const email = `downstream-${randomBytes(4).toString('hex')}@example.com`;
      const userId = await register(a.base, email);
      const delays: number[] = [];
      let lost = 0;
      let plainAfter = 0;
      let plainAfterSecond = 0;
      for (let round = 0; round < rounds; round++) {
        const token = await login(a.base, email);
        jwks = createRemoteJWKSet(new URL(`${b.base}/.well-known/jwks.json`));
        const first = await verifier.verify(token);
        if (!first.ok) throw new Error(`fresh token refused by the verifier: ${first.code}`);
        if (!(await plainAccepts(token))) throw new Error('fresh token refused by plain jose');
        await makeChange(a.base, change, token, userId);
        const answered = performance.now();
        const delay = await untilRefused(verifier, token, answered);
        if (delay === null) lost++;
        else {
          delays.push(delay);
          samples.push({ change, ms: delay });
        }
        if (await plainAccepts(token)) plainAfter++;
        if (round === 0) {
          await sleep(1_000);
          if (await plainAccepts(token)) plainAfterSecond++;
        }
      }
      rows.push([
        change,
        `${fmt(delays)}${lost > 0 ? ` (${lost} not refused in ${TIMEOUT_MS / 1000} s)` : ''}`,
        `${plainAfter}/${rounds} still accepted when the verifier refused; ${plainAfterSecond}/1 a second later (until \`exp\`, 900 s)`,
        load(),
      ]);
    }
  } finally {
    await verifier.close();
  }
  return table(
    ['change made on A', 'verifier (feed from B): median / max', 'plain jose + JWKS from B', 'load average'],
    rows,
  );
}

async function cost(a: Instance, b: Instance, clientId: string, secret: string): Promise<string> {
  const verifier = createVerifier({
    baseUrl: b.base,
    audience: 'tokenwarden',
    clientId,
    clientSecret: secret,
  });
  await verifier.ready();
  try {
    const email = `cost-${randomBytes(4).toString('hex')}@example.com`;
    await register(a.base, email);
    const tokens: string[] = [];
    for (let i = 0; i < 400; i++) tokens.push(await login(a.base, email));
    // First sight: signature, claims, feed state (JWKS already cached by the first token).
    // Warm the code path on 50 tokens first, then time each of the rest: the median, as a
    // mean of a few hundred calls moves with one GC pause.
    for (const token of tokens.slice(0, 50)) await verifier.verify(token);
    const firstTimes: number[] = [];
    for (const token of tokens.slice(50)) {
      const start = performance.now();
      await verifier.verify(token);
      firstTimes.push((performance.now() - start) * 1000);
    }
    firstTimes.sort((x, y) => x - y);
    const firstUs = firstTimes[Math.floor(firstTimes.length / 2)] ?? Number.NaN;
    const seen = tokens[1] ?? '';
    const n = 200_000;
    for (let i = 0; i < 10_000; i++) await verifier.verify(seen);
    const began = performance.now();
    for (let i = 0; i < n; i++) await verifier.verify(seen);
    const warmUs = ((performance.now() - began) * 1000) / n;
    return table(
      ['check', 'per request', 'load average'],
      [
        [
          'token seen before (memoised signature, feed state checked each time)',
          `${warmUs.toFixed(2)} µs`,
          load(),
        ],
        [
          'token seen for the first time (EdDSA verify, node:crypto KeyObject; median of 350)',
          `${firstUs.toFixed(0)} µs`,
          load(),
        ],
      ],
    );
  } finally {
    await verifier.close();
  }
}

async function memory(databaseUrl: string, b: Instance, clientId: string, secret: string, count: number) {
  // The feed rows a user rotation writes, 100 000 of them at once, in the last minute:
  // faster than 100 000 admin requests and the same rows the verifier reads.
  // The tables live in tokenwarden's own schema (TOKENWARDEN_DB_SCHEMA, default `tokenwarden`).
  const client = new pg.Client({ connectionString: databaseUrl, options: '-c search_path=tokenwarden' });
  await client.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query<{ last_seq: string }>(
      'update revocation_log_counter set last_seq = last_seq + $1 where id = 1 returning last_seq',
      [count],
    );
    const last = Number(rows[0]?.last_seq);
    await client.query(
      `insert into revocation_log (seq, kind, user_id, details, occurred_at)
       select $1::bigint + g, 'user_version', gen_random_uuid(),
              jsonb_build_object('minTokenVersion', 2, 'reason', 'bench'), now()
         from generate_series(1, $2::int) g`,
      [last - count, count],
    );
    await client.query('commit');
  } finally {
    await client.end();
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const began = performance.now();
  const verifier = createVerifier({
    baseUrl: b.base,
    audience: 'tokenwarden',
    clientId,
    clientSecret: secret,
  });
  await verifier.ready();
  const catchUp = performance.now() - began;
  gc?.();
  const after = process.memoryUsage().heapUsed;
  await verifier.close();
  const mb = (after - before) / 1024 / 1024;
  return table(
    ['user rotations inside one TTL', 'verifier heap', 'per rotation', 'catch-up from seq 0', 'load average'],
    [
      [
        int(count),
        `${mb.toFixed(1)} MB`,
        `${int(((after - before) / count) | 0)} B`,
        `${int(catchUp)} ms`,
        load(),
      ],
    ],
  );
}

export async function downstreamAcceptance(options: {
  readonly databaseUrl: string;
  readonly rounds: number;
  readonly memoryRotations: number;
}): Promise<DownstreamResult> {
  const database = await createScratchDatabase(options.databaseUrl);
  const started: Instance[] = [];
  try {
    const env = {
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: '4',
      TOKENWARDEN_INVALIDATION_CHANNEL: `tw_bench_${randomBytes(4).toString('hex')}`,
      TOKENWARDEN_FEED_HEARTBEAT_SECONDS: '5',
    };
    const a = await startInstance('downstream-a', env);
    started.push(a);
    const b = await startInstance('downstream-b', env);
    started.push(b);
    const created = await call(a.base, 'POST', '/api/v1/admin/service-clients', {
      token: await adminToken(a.base),
      body: { name: 'bench-downstream' },
    });
    expectStatus(created, 201, 'service client');
    const clientId = String(created.body.id);
    const secret = String(created.body.secret);
    const delays: { change: Change; ms: number }[] = [];
    return {
      acceptance: await acceptance(a, b, clientId, secret, options.rounds, delays),
      delays,
      cost: await cost(a, b, clientId, secret),
      memory: await memory(database.url, b, clientId, secret, options.memoryRotations),
    };
  } finally {
    await Promise.all(started.map((i) => i.stop()));
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
  const result = await downstreamAcceptance({
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    rounds: Number(values.rounds),
    memoryRotations: 100_000,
  });
  console.log(`${result.acceptance}\n\n${result.cost}\n\n${result.memory}`);
}
