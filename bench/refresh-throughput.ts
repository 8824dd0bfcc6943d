/**
 * Refresh throughput against the database limit.
 *
 *   npx tsx bench/refresh-throughput.ts [--db postgres|pglite] [--seconds 10] [--connections 8,16,32]
 *     [--pool 16] [--minimal] [--pgbench refresh.sql] [--root <checkout>]
 *
 * tokenwarden side: a server in a child process (src/main.ts, PGlite in a temp
 * dir or a scratch PostgreSQL database), `connections + 8` sessions logged in, then
 * autocannon POSTs /api/v1/tokens on `connections` keep-alive connections. Every
 * answer carries the successor token, which goes back into a shared pool; each
 * request takes a token from the pool, so no token is presented twice and any
 * non-2xx is counted (and reported) rather than hidden.
 *
 * Database side: pgbench on `refresh.sql` (the repository's statements one refresh commits,
 * built by bench/support/refresh-statements.ts, on tokens seeded for the run) with the
 * same number of connections, once with
 * `-M prepared` (parsed and planned once per connection, as the server sends its named
 * statements) and once with `-M extended` (planned on every call, as before the server named its statements), and
 * with `--minimal` `bench/sql/refresh-minimal.sql` (the least any refresh commits,
 * `-M prepared`), on the same database (the `tokenwarden` schema), right after.
 */
import { arg, parseFlags, table } from './support/env.js';
import { DEFAULT_POOL, describe, HEADER, refreshSweep } from './support/refresh-sweep.js';

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv);
  const results = await refreshSweep({
    database: arg('db', 'postgres') as 'postgres' | 'pglite',
    connections: arg('connections', '16').split(',').map(Number),
    seconds: Number(arg('seconds', flags.quick ? '3' : '10')),
    pgbenchScript: arg('pgbench', 'refresh.sql'),
    minimal: process.argv.includes('--minimal'),
    poolSize: Number(arg('pool', String(DEFAULT_POOL))),
    root: process.argv.includes('--root') ? arg('root', '') : undefined,
  });
  console.log(table(HEADER, results.map(describe)));
}
