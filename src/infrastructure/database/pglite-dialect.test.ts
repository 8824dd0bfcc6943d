import { PGlite } from '@electric-sql/pglite';
import { type Generated, Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase, testDatabases } from '../../../test/support/databases.js';
import { ServiceUnavailableError } from '../../domain/errors.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';

type ScratchDatabase = {
  events: { id: Generated<string>; seq: number; label: string };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs over the test support's PGlite, which is a Kysely over PGliteDialect; its
 * persistence across a restart is tested in create-database.test.ts.
 */
describe('PGliteDialect', () => {
  const pglite = testDatabases().find((target) => target.name === 'pglite')!;
  let database: TestDatabase;
  let db: Kysely<Database & ScratchDatabase>;

  beforeAll(async () => {
    database = await pglite.create();
    db = database.db.withTables<ScratchDatabase>();
    await sql`create table events (id bigserial primary key, seq int not null, label text not null unique)`.execute(
      db,
    );
  });

  afterAll(async () => {
    await database.close();
  });

  it('answers a query on a closed PGlite as "unavailable" (503), not as a bug (500)', async () => {
    // A request still in flight while the server shuts down and closes its database.
    const instance = new PGlite();
    const closing = new Kysely<Database>({ dialect: new PGliteDialect(instance, { closeOnDestroy: false }) });
    await sql`select 1`.execute(closing);
    await instance.close();
    const error = await sql`select 1`.execute(closing).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toMatch(/Temporarily unavailable/);
    await closing.destroy();
  });

  it('throws database errors without the statement parameters PGlite attaches to them', async () => {
    await db.insertInto('events').values({ seq: 9, label: 'taken' }).execute();
    const error = await db
      .insertInto('events')
      .values({ seq: 9, label: 'taken' })
      .execute()
      .then(
        () => null,
        (e: unknown) => e as Record<string, unknown>,
      );
    expect(error).toMatchObject({ code: '23505' }); // still a database error callers can switch on
    expect(error).not.toHaveProperty('params');
    expect(error).not.toHaveProperty('queryOptions');
  });

  it('serialises two concurrent transactions on its one connection instead of interleaving them', async () => {
    const log: string[] = [];
    const first = db.transaction().execute(async (trx) => {
      log.push('first:begin');
      await trx.insertInto('events').values({ seq: 1, label: 'first-a' }).execute();
      await sleep(30); // an opening for the second to interleave, which it must not take
      await trx.insertInto('events').values({ seq: 1, label: 'first-b' }).execute();
      log.push('first:end');
    });
    const second = db.transaction().execute(async (trx) => {
      log.push('second:begin');
      await trx.insertInto('events').values({ seq: 2, label: 'second-a' }).execute();
      log.push('second:end');
    });
    const outside = db.selectFrom('events').select('label').where('seq', '=', 1).execute();
    await Promise.all([first, second]);

    expect(log).toEqual(['first:begin', 'first:end', 'second:begin', 'second:end']);
    const rows = await db
      .selectFrom('events')
      .select(['id', 'label'])
      .where('seq', 'in', [1, 2])
      .orderBy('id')
      .execute();
    expect(rows.map((row) => row.label)).toEqual(['first-a', 'first-b', 'second-a']);
    // A plain query issued while the first transaction was open waited for its commit.
    expect((await outside).map((row) => row.label)).toEqual(['first-a', 'first-b']);
  });

  it('rolls back when the work throws, and the connection stays usable', async () => {
    const failed = db.transaction().execute(async (trx) => {
      await trx.insertInto('events').values({ seq: 3, label: 'rolled-back' }).execute();
      throw new Error('boom');
    });
    await expect(failed).rejects.toThrow('boom');
    const rows = await db.selectFrom('events').select('label').where('seq', '=', 3).execute();
    expect(rows).toEqual([]);
  });

  it('rolls back after a failed statement and surfaces the PostgreSQL error code', async () => {
    await db.insertInto('events').values({ seq: 4, label: 'unique-label' }).execute();
    const failed = db.transaction().execute(async (trx) => {
      await trx.insertInto('events').values({ seq: 4, label: 'kept-out' }).execute();
      await trx.insertInto('events').values({ seq: 4, label: 'unique-label' }).execute();
    });
    await expect(failed).rejects.toMatchObject({ code: '23505' });
    const rows = await db.selectFrom('events').select('label').where('seq', '=', 4).execute();
    expect(rows.map((row) => row.label)).toEqual(['unique-label']);
  });

  it('reports affected rows for insert, update and delete', async () => {
    const inserted = await db
      .insertInto('events')
      .values([
        { seq: 5, label: 'n1' },
        { seq: 5, label: 'n2' },
      ])
      .executeTakeFirst();
    expect(inserted.numInsertedOrUpdatedRows).toBe(2n);
    const updated = await db.updateTable('events').set({ seq: 6 }).where('seq', '=', 5).executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(2n);
    const deleted = await db.deleteFrom('events').where('seq', '=', 6).executeTakeFirst();
    expect(deleted.numDeletedRows).toBe(2n);
  });

  it('returns timestamptz as Date, int4 as number, int8 as string and jsonb parsed', async () => {
    const at = new Date('2030-01-02T03:04:05.678Z');
    const { rows } = await sql<{ at: Date; small: number; big: string; doc: { a: number[] } }>`
      select ${at}::timestamptz as at, 7::int4 as small, 9007199254740993::int8 as big, ${JSON.stringify({ a: [1] })}::jsonb as doc
    `.execute(db);
    expect(rows[0]).toEqual({ at, small: 7, big: '9007199254740993', doc: { a: [1] } });
  });

  it('supports savepoints (nested transactions)', async () => {
    const trx = await db.startTransaction().execute();
    await trx.insertInto('events').values({ seq: 7, label: 'outer' }).execute();
    const savepoint = await trx.savepoint('inner').execute();
    await savepoint.insertInto('events').values({ seq: 7, label: 'inner' }).execute();
    await savepoint.rollbackToSavepoint('inner').execute();
    await trx.commit().execute();
    const rows = await db.selectFrom('events').select('label').where('seq', '=', 7).execute();
    expect(rows.map((row) => row.label)).toEqual(['outer']);
  });
});
