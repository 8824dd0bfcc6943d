import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createDatabase } from './create-database.js';
import { MIGRATIONS, migrateToLatest } from './migrator.js';

describe('createDatabase', () => {
  // Two real starts of PGlite in a directory (initdb, then a reopen): a minute or more on a loaded machine.
  it('opens PGlite in a directory it creates, and keeps the data across a restart', {
    timeout: 180_000,
  }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'tw-db-'));
    const dataDir = join(root, 'nested', 'data');
    const id = randomUUID();
    const at = new Date('2030-05-06T07:08:09.123Z');
    try {
      const first = await createDatabase({ kind: 'pglite', dataDir });
      expect(first.kind).toBe('pglite');
      await expect(migrateToLatest(first.db)).resolves.toEqual(Object.keys(MIGRATIONS));
      await first.db
        .insertInto('users')
        .values({
          id,
          email: 'kept@example.com',
          password_hash: 'h',
          role: 'user',
          created_at: at,
          updated_at: at,
        })
        .execute();
      await first.close();
      await first.close(); // twice is harmless
      await expect(sql`select 1`.execute(first.db)).rejects.toThrow(/destroyed/);

      const second = await createDatabase({ kind: 'pglite', dataDir });
      try {
        await expect(migrateToLatest(second.db)).resolves.toEqual([]);
        const user = await second.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
        expect(user).toMatchObject({ email: 'kept@example.com', min_token_version: 1, created_at: at });
      } finally {
        await second.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(
      createDatabase({ kind: 'postgres', url: 'postgres://127.0.0.1:1/none', schema: 'x; drop table users' }),
    ).rejects.toThrow(/schema name/);
  });

  const url = process.env.DATABASE_URL;
  it.runIf(url !== undefined && url !== '')(
    'opens PostgreSQL in its own schema with the same value types as PGlite',
    async () => {
      const schema = `tw_t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      const database = await createDatabase({ kind: 'postgres', url: url!, schema, poolSize: 2 });
      try {
        expect(database.kind).toBe('postgres');
        const at = new Date('2030-01-02T03:04:05.678Z');
        const { rows } = await sql<{
          schema: string;
          at: Date;
          small: number;
          tiny: number;
          big: string;
          doc: unknown;
        }>`select current_schema() as schema, ${at}::timestamptz as at, 7::int4 as small, 3::int2 as tiny,
              9007199254740993::int8 as big, ${JSON.stringify({ a: [1] })}::jsonb as doc`.execute(
          database.db,
        );
        expect(rows[0]).toEqual({ schema, at, small: 7, tiny: 3, big: '9007199254740993', doc: { a: [1] } });
      } finally {
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db);
        await database.close();
      }
    },
  );
});
