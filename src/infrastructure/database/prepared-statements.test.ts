import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createDatabase } from './create-database.js';
import { PREPARED, preparedName } from './prepared-statements.js';

describe('prepared statements', () => {
  it('names marked SQL texts by their hash, and leaves the others unnamed', () => {
    const text = `${PREPARED} select 1 where 1 = $1`;
    expect(preparedName(text)).toMatch(/^tw_[0-9a-f]{24}$/);
    expect(preparedName(text)).toBe(preparedName(text));
    expect(preparedName(`${PREPARED} select 2 where 1 = $1`)).not.toBe(preparedName(text));
    expect(preparedName('select 1 where 1 = $1')).toBeNull();
  });

  const url = process.env.DATABASE_URL;
  it.runIf(url !== undefined && url !== '')(
    'prepares a marked statement once per connection on PostgreSQL, and runs it with new parameters',
    async () => {
      const schema = `tw_t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      // One connection: every statement below runs on the same backend.
      const database = await createDatabase({ kind: 'postgres', url: url!, schema, poolSize: 1 });
      try {
        const marker = randomUUID();
        const marked = (n: number) =>
          sql<{ n: number }>`${sql.raw(PREPARED)} select ${n}::int + 1 as n, ${marker}::text as marker`;
        expect((await marked(1).execute(database.db)).rows).toEqual([{ n: 2, marker }]);
        expect((await marked(41).execute(database.db)).rows).toEqual([{ n: 42, marker }]);
        await sql`select ${marker}::text as unmarked`.execute(database.db);
        const prepared = await sql<{ name: string; statement: string }>`
          select name, statement from pg_prepared_statements`.execute(database.db);
        expect(prepared.rows.map((r) => r.statement.includes('::int + 1'))).toEqual([true]);
        expect(prepared.rows[0]?.name).toMatch(/^tw_/);
      } finally {
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db);
        await database.close();
      }
    },
  );

  it.runIf(url !== undefined && url !== '')(
    'sends marked statements unnamed with preparedStatements: false (DATABASE_PREPARED_STATEMENTS=off)',
    async () => {
      const schema = `tw_t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      const database = await createDatabase({
        kind: 'postgres',
        url: url!,
        schema,
        poolSize: 1,
        preparedStatements: false,
      });
      try {
        const rows = (
          await sql<{ n: number }>`${sql.raw(PREPARED)} select ${1}::int + 1 as n`.execute(database.db)
        ).rows;
        expect(rows).toEqual([{ n: 2 }]);
        const prepared = await sql`select name from pg_prepared_statements`.execute(database.db);
        expect(prepared.rows).toEqual([]);
      } finally {
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db);
        await database.close();
      }
    },
  );
});
