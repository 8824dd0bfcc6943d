/**
 * How long a rotation on one instance takes to reach another, per transport.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 \
 *     npx tsx bench/propagation-delay.ts [--rounds 21] [--transport postgres,redis]
 *
 * Creates a scratch PostgreSQL database (dropped after), starts two `src/main.ts`
 * processes on 127.0.0.1 per transport (Redis pub/sub when REDIS_URL is given, and
 * PostgreSQL LISTEN/NOTIFY), and per round: logs in on A, checks the access token on
 * B (warming B's cache), makes the change on A — a global rotation, a user rotation
 * and a logout in turn — then polls B until it rejects the token. Prints the median
 * and max over the rounds, from A's answer and from sending the request to A.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  createScratchDatabase,
  type Instance,
  login,
  me,
  measurePropagation,
  median,
  type Propagation,
  type Rotation,
  register,
  startInstance,
} from '../test/support/instances.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '21' },
    transport: { type: 'string', default: 'postgres,redis' },
  },
});
const rounds = Number(values.rounds);
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.REDIS_URL ?? '';
const KINDS: readonly Rotation[] = ['global', 'user', 'logout'];
const TIMEOUT_MS = 10_000;

function summary(samples: readonly (number | null)[]): string {
  const ok = samples.filter((s): s is number => s !== null);
  const lost = samples.length - ok.length;
  return `median ${median(ok).toFixed(1)} ms, max ${Math.max(...ok).toFixed(1)} ms${lost > 0 ? `, ${lost} timed out` : ''}`;
}

async function main(): Promise<void> {
  const transports = values.transport
    .split(',')
    .filter((t) => t === 'postgres' || (t === 'redis' && redisUrl !== ''));
  const database = await createScratchDatabase(databaseUrl);
  const started: Instance[] = [];
  try {
    const channel = `tw_bench_${randomBytes(4).toString('hex')}`;
    for (const transport of transports) {
      const env = {
        DATABASE_URL: database.url,
        DATABASE_POOL_SIZE: '4',
        TOKENWARDEN_INVALIDATION_CHANNEL: channel,
        ...(transport === 'redis' ? { REDIS_URL: redisUrl } : {}),
      };
      const a = await startInstance(`${transport}-a`, env);
      started.push(a);
      const b = await startInstance(`${transport}-b`, env);
      started.push(b);
      const email = `bench-${transport}-${randomBytes(4).toString('hex')}@example.com`;
      const userId = await register(a.base, email);
      // What one poll costs: a warm bearer check on B, the resolution of the figures below.
      const probe = await login(a.base, email);
      const checks: number[] = [];
      for (let i = 0; i < 20; i++) {
        const began = performance.now();
        await me(b.base, probe);
        checks.push(performance.now() - began);
      }
      const results: Propagation[] = [];
      const byKind = new Map<Rotation, Propagation[]>(KINDS.map((k) => [k, []]));
      for (let round = 0; round < rounds; round++) {
        const kind = KINDS[round % KINDS.length] ?? 'global';
        const result = await measurePropagation(a.base, b.base, kind, email, userId, TIMEOUT_MS);
        results.push(result);
        byKind.get(kind)?.push(result);
      }
      console.log(`${transport} (${rounds} changes: ${KINDS.join(', ')} in turn)`);
      console.log(`  one warm check on B: ${summary(checks)}`);
      console.log(`  after A's answer:   ${summary(results.map((r) => r.afterResponse))}`);
      console.log(`  after A's request:  ${summary(results.map((r) => r.afterRequest))}`);
      for (const [kind, samples] of byKind) {
        console.log(`  ${kind.padEnd(7)} after answer: ${summary(samples.map((r) => r.afterResponse))}`);
      }
      await Promise.all([a.stop(), b.stop()]);
    }
  } finally {
    await Promise.all(started.map((i) => i.stop()));
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
