/**
 * What the version check costs a refresh, priced outside the production code.
 *
 *   npx tsx bench/version-check.ts [--seconds 10] [--rounds 3] [--connections 16]
 *
 * The check has two parts. In the database, `refresh-locked.sql` (the repository's SQL a
 * refresh commits in a transaction, its fallback path, built by bench/support/refresh-statements.ts)
 * reads the security_config row and takes it and the user FOR SHARE;
 * `refresh-no-version-check.sql` is the same transaction with the read of
 * bench/sql/refresh-read-no-version-check.sql instead (no config read or lock, no user
 * lock, the stamps copied). pgbench runs the two
 * alternately on one scratch PostgreSQL database (migrated into the `tokenwarden` schema
 * here, fresh tokens seeded before each run, dropped after), so drifting load hits both alike; 1 − with/without is the check's share of
 * the database's work. In process, the stamp comparison (`checkVersionStamp`) is timed
 * over a million calls.
 */
import { checkVersionStamp } from '../src/domain/token-validity.js';
import { createDatabase } from '../src/infrastructure/database/create-database.js';
import { migrateToLatest } from '../src/infrastructure/database/migrator.js';
import { arg, int, load, parseFlags, type Row, scratchPostgres } from './support/env.js';
import { pgbench } from './support/pgbench.js';
import { SCHEMA } from './support/seed.js';

export const WITH_CHECK = 'refresh-locked.sql';
export const WITHOUT_CHECK = 'refresh-no-version-check.sql';

export interface VersionCheckCost {
  /** One row per pgbench run: script, connections, tps, load average. */
  readonly rows: readonly Row[];
  /** 1 − mean(tps with the check) / mean(tps without), in percent. */
  readonly overheadPercent: number;
  /** The in-process comparison, per refresh. */
  readonly stampCheckMicros: number;
}

export async function versionCheckCost(options: {
  readonly connections: number;
  readonly seconds: number;
  readonly rounds: number;
}): Promise<VersionCheckCost> {
  const scratch = await scratchPostgres('version');
  try {
    const database = await createDatabase({
      kind: 'postgres',
      url: scratch.url,
      schema: SCHEMA,
      poolSize: 2,
    });
    try {
      await migrateToLatest(database.db);
    } finally {
      await database.close();
    }
    const tps = { [WITH_CHECK]: [] as number[], [WITHOUT_CHECK]: [] as number[] };
    const rows: Row[] = [];
    for (let round = 0; round < options.rounds; round++) {
      for (const script of [WITH_CHECK, WITHOUT_CHECK] as const) {
        const result = await pgbench(scratch.url, script, options.connections, options.seconds);
        tps[script].push(result);
        rows.push([
          script === WITH_CHECK ? `with the version check (\`${script}\`)` : `without it (\`${script}\`)`,
          String(options.connections),
          int(result),
          load(),
        ]);
      }
    }
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return {
      rows,
      overheadPercent: (1 - mean(tps[WITH_CHECK]) / mean(tps[WITHOUT_CHECK])) * 100,
      stampCheckMicros: stampCheckMicros(),
    };
  } finally {
    await scratch.drop();
  }
}

/** The in-process half: one stamp comparison, one behind inside the grace window (the longest path). */
function stampCheckMicros(): number {
  const now = new Date();
  const current = {
    userMinTokenVersion: 3,
    globalMinTokenVersion: 8,
    graceUntil: new Date(now.getTime() + 60_000),
  };
  const stamp = { userVersion: 3, globalVersion: 7 };
  const calls = 1_000_000;
  let valid = 0;
  const started = performance.now();
  for (let i = 0; i < calls; i++) if (checkVersionStamp(stamp, current, now).valid) valid++;
  const elapsed = performance.now() - started;
  if (valid !== calls) throw new Error('the stamp should pass inside the grace window');
  return (elapsed * 1000) / calls;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv);
  const cost = await versionCheckCost({
    connections: Number(arg('connections', '16')),
    seconds: Number(arg('seconds', flags.quick ? '2' : '10')),
    rounds: Number(arg('rounds', flags.quick ? '1' : '3')),
  });
  for (const row of cost.rows) console.log(row.join(' | '));
  console.log(
    `overhead ${cost.overheadPercent.toFixed(1)} %; stamp comparison ${cost.stampCheckMicros.toFixed(3)} µs`,
  );
}
