import pg from 'pg';
import { createDatabase } from '../src/infrastructure/database/create-database.js';
import { migrateToLatest } from '../src/infrastructure/database/migrator.js';
import { seedTokens } from './support/seed.js';
import { scratchPostgres } from './support/env.js';
import { readFileSync } from 'node:fs';
const s = await scratchPostgres('rdbexplain');
try {
  const d = await createDatabase({ kind: 'postgres', url: s.url, schema: 'tokenwarden', poolSize: 2 });
  await migrateToLatest(d.db);
  await seedTokens(d.db, 1, 50000);
  await d.close();
  const c = new pg.Client({ connectionString: s.url, options: '-c search_path=tokenwarden' });
  await c.connect();
  const file = readFileSync(new URL('sql/' + process.argv[2], import.meta.url), 'utf8');
  const stmts = file.split('\n').filter((l) => !l.startsWith('--') && !l.startsWith('\\')).join('\n')
    .replaceAll(':client_id', '1').replaceAll(':r', '12345').replaceAll(':n', '77').split(';').map((x) => x.trim()).filter((x) => x && x !== 'BEGIN' && x !== 'COMMIT');
  for (const q of stmts) {
    await c.query('begin');
    const r = await c.query('explain (analyze, costs off, timing off) ' + q);
    console.log(r.rows.map((x) => x['QUERY PLAN']).join('\n'), '\n---');
    await c.query('rollback');
  }
  await c.end();
} finally { await s.drop(); }
