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
 * and a logout in turn — then polls B until it rejects the token. Reports the median
 * and max over the rounds, from A's answer and from sending the request to A, and
 * charts every sample.
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
  type Rotation,
  register,
  startInstance,
} from '../test/support/instances.js';
import { distributionChart } from './support/chart.js';
import { load, type Row, table } from './support/env.js';

const KINDS: readonly Rotation[] = ['global', 'user', 'logout'];
const TIMEOUT_MS = 10_000;

type Transport = 'postgres' | 'redis';

/** An instance on PostgreSQL always uses NOTIFY (docs/DESIGN.md §4); with REDIS_URL it adds Redis. */
const TRANSPORT_NAMES: Readonly<Record<Transport, string>> = {
  postgres: 'PostgreSQL NOTIFY',
  redis: 'Redis pub/sub + NOTIFY',
};

const KIND_NAMES: Readonly<Record<Rotation, string>> = {
  global: 'global rotation',
  user: 'user rotation',
  logout: 'logout',
};

export interface PropagationSample {
  readonly transport: string;
  readonly change: string;
  /** From A's answer to B's first 401; null when B still accepted after TIMEOUT_MS. */
  readonly afterAnswer: number | null;
  readonly afterRequest: number | null;
}

function summary(samples: readonly (number | null)[]): string {
  const ok = samples.filter((s): s is number => s !== null);
  const lost = samples.length - ok.length;
  if (ok.length === 0) return `— (${lost} timed out)`;
  return `${median(ok).toFixed(1)} ms / ${Math.max(...ok).toFixed(1)} ms${lost > 0 ? ` (${lost} timed out)` : ''}`;
}

/**
 * Both transports (Redis only with `redisUrl`), `rounds` changes each; the markdown table and
 * the chart of every sample into `plotFile`.
 */
export async function propagationDelay(options: {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly rounds: number;
  readonly transports?: readonly Transport[];
  readonly plotFile?: string;
}): Promise<{ readonly markdown: string; readonly samples: readonly PropagationSample[] }> {
  const transports = (options.transports ?? ['postgres', 'redis']).filter(
    (t) => t === 'postgres' || options.redisUrl !== '',
  );
  const database = await createScratchDatabase(options.databaseUrl);
  const started: Instance[] = [];
  const rows: Row[] = [];
  const samples: PropagationSample[] = [];
  try {
    const channel = `tw_bench_${randomBytes(4).toString('hex')}`;
    for (const transport of transports) {
      const env = {
        DATABASE_URL: database.url,
        DATABASE_POOL_SIZE: '4',
        TOKENWARDEN_INVALIDATION_CHANNEL: channel,
        ...(transport === 'redis' ? { REDIS_URL: options.redisUrl } : {}),
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
      const mine: PropagationSample[] = [];
      for (let round = 0; round < options.rounds; round++) {
        const kind = KINDS[round % KINDS.length] ?? 'global';
        const result = await measurePropagation(a.base, b.base, kind, email, userId, TIMEOUT_MS);
        mine.push({
          transport: TRANSPORT_NAMES[transport],
          change: KIND_NAMES[kind],
          afterAnswer: result.afterResponse,
          afterRequest: result.afterRequest,
        });
      }
      samples.push(...mine);
      const name = TRANSPORT_NAMES[transport];
      rows.push([
        `${name}, all changes`,
        mine.length,
        `${median(checks).toFixed(1)} ms`,
        summary(mine.map((s) => s.afterAnswer)),
        summary(mine.map((s) => s.afterRequest)),
        load(),
      ]);
      for (const kind of KINDS) {
        const of = mine.filter((s) => s.change === KIND_NAMES[kind]);
        rows.push([
          `${name}, ${KIND_NAMES[kind]}`,
          of.length,
          '',
          summary(of.map((s) => s.afterAnswer)),
          summary(of.map((s) => s.afterRequest)),
          load(),
        ]);
      }
      await Promise.all([a.stop(), b.stop()]);
    }
  } finally {
    await Promise.all(started.map((i) => i.stop()));
    await database.drop();
  }
  if (options.plotFile !== undefined) {
    await distributionChart({
      file: options.plotFile,
      title: 'From A’s answer to B’s first refusal, every change (instances A → B)',
      value: 'ms',
      category: 'row',
      color: 'change',
      valueTitle: 'milliseconds after A answered (log)',
      valueScale: 'log',
      rows: samples.flatMap((s) =>
        s.afterAnswer === null
          ? []
          : [{ row: `${s.transport} · ${s.change}`, change: s.change, ms: s.afterAnswer }],
      ),
    });
  }
  const markdown = table(
    [
      'transport (A → B), change',
      'changes',
      'one warm check on B (median)',
      "after A's answer: median / max",
      "after A's request: median / max",
      'load average',
    ],
    rows,
  );
  return { markdown, samples };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '21' },
      transport: { type: 'string', default: 'postgres,redis' },
    },
  });
  const { markdown } = await propagationDelay({
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: process.env.REDIS_URL ?? '',
    rounds: Number(values.rounds),
    transports: values.transport.split(',').filter((t): t is Transport => t === 'postgres' || t === 'redis'),
    plotFile: new URL('../docs/img/propagation.svg', import.meta.url).pathname,
  });
  console.log(markdown);
}
