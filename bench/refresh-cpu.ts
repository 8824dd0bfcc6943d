/**
 * CPU per refresh: server µs and PostgreSQL backend µs per refresh, as bench/capacity.ts
 * computes them (utime + stime from /proc of the server process and of this database's
 * backends), for one tree or two alternated (A, B, A, B…) on a shared machine.
 *
 *   npx tsx bench/refresh-cpu.ts [--seconds 10] [--rounds 2] [--connections 16] [--seed 20000]
 *     [--root /tmp/tw-base] [--before-env K=V,K=V] [--after-env K=V] [--cpu-prof dir]
 *     [--before-pg plan_cache_mode=force_custom_plan] [--after-pg K=V] [--pgbench]
 *     [--before-socket /var/run/postgresql] [--after-socket /var/run/postgresql]
 *   npm run bench -- --only refresh-cpu
 *
 * Without `--root` and without env, one side (this tree). `--root` is a checkout of the
 * earlier commit (`git archive <commit> | tar -x -C /tmp/tw-base` and a node_modules
 * symlink). `--cpu-prof` writes a .cpuprofile of each server (bench/cpu-profile.ts reads it).
 */
import { arg, keyValues, table } from './support/env.js';
import { type RefreshCpuRun, type RefreshCpuSide, refreshCpu } from './support/refresh-cpu-measure.js';

/** Alternates the sides `rounds` times; the markdown table of every run and the means. */
export async function refreshCpuAlternated(
  sides: readonly RefreshCpuSide[],
  options: Parameters<typeof refreshCpu>[1] & { readonly rounds: number },
): Promise<string> {
  const runs: RefreshCpuRun[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const side of sides) runs.push(await refreshCpu(side, options));
  }
  const rows = runs.map((r) => [
    r.label,
    r.refreshes,
    Math.round(r.perSecond),
    Math.round(r.serverMicros),
    Math.round(r.postgresMicros),
    r.load,
    ...pgbenchCells(r),
  ]);
  for (const side of sides) {
    const mine = runs.filter((r) => r.label === side.label);
    const mean = (f: (r: RefreshCpuRun) => number) =>
      Math.round(mine.reduce((s, r) => s + f(r), 0) / mine.length);
    rows.push([
      `**${side.label}, mean**`,
      '',
      mean((r) => r.perSecond),
      mean((r) => r.serverMicros),
      mean((r) => r.postgresMicros),
      '',
      ...(options.pgbench === true
        ? [0, 1].flatMap((i) => [
            mean((r) => r.pgbench[i]?.tps ?? Number.NaN),
            mean((r) => r.pgbench[i]?.postgresMicros ?? Number.NaN),
            `${(mean((r) => r.perSecond) / mean((r) => r.pgbench[i]?.tps ?? Number.NaN)).toFixed(2)}×`,
          ])
        : []),
    ]);
  }
  return table(
    [
      'side',
      'refreshes',
      'refreshes/s',
      'server µs / refresh',
      'PostgreSQL backends µs / refresh',
      'load average',
      ...(options.pgbench === true
        ? ['extended', 'prepared'].flatMap((m) => [
            `pgbench -M ${m} tps`,
            `PostgreSQL µs / transaction (-M ${m})`,
            `refreshes/s ÷ tps (-M ${m})`,
          ])
        : []),
    ],
    rows,
  );
}

function pgbenchCells(run: RefreshCpuRun): (string | number)[] {
  return run.pgbench.flatMap((p) => [
    Math.round(p.tps),
    Math.round(p.postgresMicros),
    `${(run.perSecond / p.tps).toFixed(2)}× (${p.load})`,
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = process.argv.includes('--root') ? arg('root', '') : undefined;
  const before = keyValues('before-env');
  const after = keyValues('after-env');
  const beforePg = keyValues('before-pg');
  const afterPg = keyValues('after-pg');
  const socket = (name: string) => (process.argv.includes(`--${name}`) ? { socketDir: arg(name, '') } : {});
  const sides: RefreshCpuSide[] =
    root === undefined &&
    !process.argv.some((a) => a.endsWith('-socket')) &&
    [before, after, beforePg, afterPg].every((e) => Object.keys(e).length === 0)
      ? [{ label: 'this tree' }]
      : [
          {
            label: arg('before-label', 'before'),
            ...(root === undefined ? {} : { root }),
            env: before,
            pgSettings: beforePg,
            ...socket('before-socket'),
          },
          { label: arg('after-label', 'after'), env: after, pgSettings: afterPg, ...socket('after-socket') },
        ];
  const cpuProfDir = process.argv.includes('--cpu-prof') ? arg('cpu-prof', '') : undefined;
  console.log(
    await refreshCpuAlternated(sides, {
      seconds: Number(arg('seconds', '10')),
      rounds: Number(arg('rounds', sides.length > 1 ? '2' : '1')),
      connections: Number(arg('connections', '16')),
      seed: Number(arg('seed', '20000')),
      pgbench: process.argv.includes('--pgbench'),
      ...(cpuProfDir === undefined ? {} : { cpuProfDir }),
    }),
  );
}
