import { CompiledQuery, type Kysely, sql } from 'kysely';
import { expect, it } from 'vitest';
import {
  findQuery,
  generatedScript,
  rotateQuery,
  seededHash,
} from '../../bench/support/refresh-statements.js';
import { seedTokens } from '../../bench/support/seed.js';
import type { Database } from '../../src/infrastructure/database/schema.js';
import { describeEachDatabase } from '../support/databases.js';

/**
 * A generated pgbench script as pgbench would send it for token `n`: meta-commands and
 * comments dropped, its variables given values, split into statements (BEGIN and COMMIT
 * left to the caller's transaction).
 */
async function statementsFor(script: string, n: number): Promise<string[]> {
  const text = (await generatedScript(script))
    .split('\n')
    .filter((line) => !line.startsWith('\\') && !line.startsWith('--'))
    .join('\n')
    .replace(
      /(?<!:):(n|client_id|r)\b/g,
      (_, name: string) => ({ n: String(n), client_id: '0', r: String(n) })[name] ?? '',
    );
  return text
    .split(/;\s*\n|;\s*$/)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '' && statement !== 'BEGIN' && statement !== 'COMMIT');
}

async function run(db: Kysely<Database>, statements: readonly string[]): Promise<unknown[]> {
  return db.transaction().execute(async (trx) => {
    const rows: unknown[] = [];
    for (const statement of statements) rows.push((await sql.raw(statement).execute(trx)).rows[0]);
    return rows;
  });
}

async function parentOf(db: Kysely<Database>, n: number) {
  return (
    await sql<{ used_at: Date | null; successor_id: string | null }>`
      select used_at, successor_id from refresh_tokens where id = md5(${`t${n}`})::uuid`.execute(db)
  ).rows[0];
}

describeEachDatabase('the refresh benchmarks run the repository statements', (suite) => {
  it.each(['refresh.sql', 'refresh-locked.sql', 'refresh-no-version-check.sql'])(
    '%s rotates a seeded token (the common path, refresh.sql, only once)',
    async (script) => {
      const n =
        { 'refresh.sql': 11, 'refresh-locked.sql': 21, 'refresh-no-version-check.sql': 31 }[script] ?? 0;
      await seedTokens(suite.db, n, n);
      const first = await run(suite.db, await statementsFor(script, n));
      expect(first.at(-1)).toEqual({ written: 1 });
      const parent = await parentOf(suite.db, n);
      expect(parent?.used_at).not.toBeNull();
      expect(parent?.successor_id).not.toBeNull();
      if (script === 'refresh.sql') {
        // The write re-checks under locks: a used token is not rotated twice.
        const again = await run(suite.db, await statementsFor(script, n));
        expect(again.at(-1)).toEqual({ written: 0 });
      }
    },
  );

  it("the floors' node-postgres statements read a seeded token and rotate it", async () => {
    const n = 41;
    await seedTokens(suite.db, n, n);
    const find = findQuery(seededHash(n));
    const found = await suite.db.executeQuery<{ id: string; session_id: string; user_id: string }>(
      CompiledQuery.raw(find.text, find.values),
    );
    const row = found.rows[0];
    if (row === undefined) throw new Error('the seeded token was not found');
    const rotate = rotateQuery({
      parentId: row.id,
      successorId: '00000000-0000-4000-8000-000000000041',
      sessionId: row.session_id,
      userId: row.user_id,
      tokenHash: seededHash('successor-41'),
      successorSealed: 'v1.sealed',
    });
    const written = await suite.db.executeQuery(CompiledQuery.raw(rotate.text, rotate.values));
    expect(written.rows[0]).toEqual({ written: 1 });
    expect((await parentOf(suite.db, n))?.successor_id).toBe('00000000-0000-4000-8000-000000000041');
  });
});
