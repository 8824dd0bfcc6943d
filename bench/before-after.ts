/**
 * A refresh change measured before and after, back to back and alternated (A, B, A, B…)
 * so that the drifting load of a shared machine hits both sides alike. Each side starts
 * its own server on a fresh scratch database and holds it against pgbench of its own
 * refresh SQL (and the minimal refresh SQL) with the same connections.
 *
 *   npx tsx bench/before-after.ts [--root /tmp/tw-base] [--before-sql refresh-locked.sql]
 *     [--before-env K=V,K=V] [--after-env K=V] [--before-label …] [--after-label …]
 *     [--seconds 10] [--rounds 2] [--connections 16]
 *
 * `--root` is a checkout of the earlier commit (`git archive <commit> | tar -x -C /tmp/tw-base`
 * and a node_modules symlink); without it both sides are this tree, told apart by their env
 * (e.g. `--before-env DATABASE_POOL_SIZE=16 --after-env DATABASE_POOL_SIZE=32`).
 */

import { arg, keyValues, table } from './support/env.js';
import { describe, HEADER, refreshThroughput } from './support/refresh-sweep.js';

const root = process.argv.includes('--root') ? arg('root', '') : undefined;
const seconds = Number(arg('seconds', '10'));
const rounds = Number(arg('rounds', '2'));
const connections = Number(arg('connections', '16'));
const sides = [
  {
    label: arg('before-label', 'before'),
    root,
    env: keyValues('before-env'),
    sql: arg('before-sql', root === undefined ? 'refresh.sql' : 'refresh-locked.sql'),
  },
  {
    label: arg('after-label', 'after'),
    root: undefined,
    env: keyValues('after-env'),
    sql: arg('after-sql', 'refresh.sql'),
  },
];

const rows: string[][] = [];
const sums = sides.map(() => 0);
for (let round = 0; round < rounds; round++) {
  for (const [i, side] of sides.entries()) {
    const run = await refreshThroughput({
      database: 'postgres',
      connections,
      seconds,
      pgbenchScript: side.sql,
      minimal: true,
      env: side.env,
      ...(side.root === undefined ? {} : { root: side.root }),
    });
    sums[i] = (sums[i] ?? 0) + run.requestsPerSecond;
    rows.push([`${side.label} (\`${side.sql}\`)`, ...describe(run)]);
    console.log(rows.at(-1)?.join(' | '));
  }
}
console.log(table(['refresh', ...HEADER], rows));
const [before, after] = sums.map((sum) => sum / rounds);
if (before !== undefined && after !== undefined) {
  console.log(
    `mean refreshes/s: ${sides[0]?.label} ${before.toFixed(0)}, ${sides[1]?.label} ${after.toFixed(0)} (${((after / before - 1) * 100).toFixed(1)} %)`,
  );
}
