import { createDatabase } from '../src/infrastructure/database/create-database.js';
import { migrateToLatest } from '../src/infrastructure/database/migrator.js';
import { pgbench, SCHEMA } from './refresh-throughput.js';
import { load, scratchPostgres } from './support/env.js';
const s = await scratchPostgres('rdbpgb');
try {
  const d = await createDatabase({ kind: 'postgres', url: s.url, schema: SCHEMA, poolSize: 2 });
  await migrateToLatest(d.db);
  await d.close();
  const scripts = process.argv.slice(3);
  for (let round = 0; round < Number(process.argv[2]); round++)
    for (const f of scripts) console.log(f, (await pgbench(s.url, f, 16, 5)).toFixed(0), load());
} finally { await s.drop(); }
