/**
 * Before/after of issue 5's refresh change, back to back under the same load:
 * `--root` is a checkout of the earlier commit (e.g. `git archive 4b64cda | tar -x -C /tmp/tw-base`
 * and a node_modules symlink), held against `refresh-before.sql`; this tree against `refresh.sql`.
 *
 *   npx tsx bench/before-after.ts --root /tmp/tw-base [--seconds 10]
 */
import { describe, refreshThroughput } from './refresh-throughput.js';
import { table } from './support/env.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const seconds = Number(arg('seconds', '10'));
const rows: string[][] = [];
for (const side of ['before', 'after'] as const) {
  const run = await refreshThroughput({
    database: 'postgres',
    connections: 16,
    seconds,
    pgbenchScript: side === 'before' ? 'refresh-before.sql' : 'refresh.sql',
    ...(side === 'before' ? { root: arg('root', '/tmp/tw-base') } : {}),
  });
  rows.push([
    side === 'before' ? 'before (7 statements, 9 round trips)' : 'after (2 statements, 4 round trips)',
    ...describe(run),
  ]);
}
console.log(
  table(
    [
      'refresh',
      'database',
      'connections',
      'refreshes/s',
      'non-2xx / errors',
      'p50',
      'p99',
      'pgbench tps (same SQL)',
      'ratio',
      'load average',
    ],
    rows,
  ),
);
