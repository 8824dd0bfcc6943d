/**
 * Global rotation at 10 k, 100 k and 1 M live refresh tokens, against the naive
 * alternative (revoking every row).
 *
 *   npx tsx bench/rotation-scale.ts [--quick] [--no-write]
 *
 * Seeds with INSERT … SELECT generate_series (bench/support/seed.ts), grows the same
 * database from one size to the next, and at each size times the real
 * `TriggerGlobalTokenRotation` handler (its whole transaction: config row, audit
 * row, outbox events) seven times, then `UPDATE refresh_tokens SET revoked_at = now()
 * WHERE revoked_at IS NULL` once, rolled back so the next size starts from live rows.
 */
import { sql } from 'kysely';
import { TriggerGlobalTokenRotation } from '../src/application/commands/trigger-global-token-rotation/command.js';
import { type Core, createCore } from '../src/composition-root.js';
import { loadConfig } from '../src/config.js';
import { lineChart } from './support/chart.js';
import {
  int,
  load,
  median,
  ms,
  parseFlags,
  type Row,
  scratchDir,
  scratchPostgres,
  table,
  writeSection,
} from './support/env.js';
import { seedTokens } from './support/seed.js';

const ROUNDS = 7;

async function timeRotation(core: Core): Promise<{ readonly median: number; readonly max: number }> {
  const samples: number[] = [];
  // One unmeasured round first: JIT and first-use costs are not the rotation's.
  for (let i = -1; i < ROUNDS; i++) {
    const began = performance.now();
    const outcome = await core.services.triggerGlobalTokenRotation.handle(
      TriggerGlobalTokenRotation({ triggeredBy: 'cli:bench', reason: 'benchmark', gracePeriodSeconds: 0 }),
    );
    if (i >= 0) samples.push(performance.now() - began);
    if (!outcome.ok) throw new Error(`rotation failed: ${outcome.error.message}`);
  }
  return { median: median(samples), max: Math.max(...samples) };
}

async function timeNaive(core: Core): Promise<{ readonly ms: number; readonly rows: number }> {
  return core.db.connection().execute(async (conn) => {
    await sql`begin`.execute(conn);
    try {
      const began = performance.now();
      const result = await sql`update refresh_tokens set revoked_at = now() where revoked_at is null`.execute(
        conn,
      );
      return { ms: performance.now() - began, rows: Number(result.numAffectedRows ?? 0) };
    } finally {
      await sql`rollback`.execute(conn);
    }
  });
}

/** One measured point of the chart: what ran, at how many live tokens, in how many ms. */
interface Point {
  readonly what: string;
  readonly tokens: number;
  readonly ms: number;
}

async function run(
  database: 'postgres' | 'pglite',
  sizes: readonly number[],
  points: Point[],
): Promise<Row[]> {
  const rows: Row[] = [];
  const name = database === 'postgres' ? 'PostgreSQL' : 'PGlite';
  const scratch = database === 'postgres' ? await scratchPostgres('rotation') : null;
  const dir = database === 'pglite' ? await scratchDir() : null;
  const core = await createCore(
    loadConfig(
      scratch !== null
        ? { DATABASE_URL: scratch.url, DATABASE_POOL_SIZE: '4', LOG_LEVEL: 'silent' }
        : { TOKENWARDEN_DATA_DIR: dir?.dir, LOG_LEVEL: 'silent' },
    ),
    { defaultMetrics: false },
  );
  try {
    let seeded = 0;
    for (const size of sizes) {
      const began = performance.now();
      await seedTokens(core.db, seeded + 1, size);
      const seedMs = performance.now() - began;
      seeded = size;
      const rotation = await timeRotation(core);
      const naive = await timeNaive(core);
      points.push(
        { what: `${name}: global rotation (median)`, tokens: size, ms: rotation.median },
        { what: `${name}: UPDATE … SET revoked_at`, tokens: size, ms: naive.ms },
      );
      const line: Row = [
        name,
        int(size),
        `${(seedMs / 1000).toFixed(1)} s`,
        ms(rotation.median),
        ms(rotation.max),
        `${ms(naive.ms)} (${int(naive.rows)} rows)`,
        `${Math.round(naive.ms / rotation.median)}×`,
        load(),
      ];
      console.log(line.join('  '));
      rows.push(line);
    }
  } finally {
    await core.close();
    await scratch?.drop();
    await dir?.remove();
  }
  return rows;
}

/** The table, and the chart (both axes log: sizes and times span three orders of magnitude) into `plotFile`. */
export async function rotationScale(quick: boolean, plotFile: string): Promise<string> {
  const points: Point[] = [];
  const rows = [
    ...(await run('postgres', quick ? [10_000, 50_000] : [10_000, 100_000, 1_000_000], points)),
    ...(quick ? [] : await run('pglite', [10_000, 100_000], points)),
  ];
  await lineChart({
    file: plotFile,
    title: 'Ending every session: global rotation vs revoking every row',
    x: 'tokens',
    y: 'ms',
    series: 'what',
    xTitle: 'live refresh tokens (log)',
    yTitle: 'milliseconds (log)',
    xScale: 'log',
    yScale: 'log',
    points: true,
    width: 420,
    height: 280,
    rows: points.map((p) => ({ ...p })),
  });
  return table(
    [
      'database',
      'live tokens',
      'seed (this step)',
      'global rotation: median',
      'max',
      'naive: revoke every row',
      'naive / rotation',
      'load average',
    ],
    rows,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv);
  const plot = `rotation-scale${flags.quick ? '-quick' : ''}.svg`;
  const markdown = await rotationScale(flags.quick, new URL(`../docs/img/${plot}`, import.meta.url).pathname);
  console.log(markdown);
  if (flags.write) await writeSection(flags.quick ? 'rotation-scale-quick' : 'rotation-scale', markdown);
}
