import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test/support/databases.js';
import { createDatabase } from './create-database.js';
import { MIGRATIONS, migrateToLatest } from './migrator.js';

describeEachDatabase('migrations', (suite) => {
  it('applies nothing when run again', async () => {
    await expect(migrateToLatest(suite.db)).resolves.toEqual([]);
    await expect(migrateToLatest(suite.db)).resolves.toEqual([]);
  });

  it('seeds the security config singleton at version 1 with a 300 s grace period', async () => {
    const rows = await suite.db.selectFrom('security_config').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: 1,
      global_min_token_version: 1,
      grace_period_seconds: 300,
      last_rotation_at: null,
      last_rotation_reason: null,
      grace_until: null,
    });
    expect(rows[0]?.updated_at).toBeInstanceOf(Date);
  });

  it('refuses a second security config row and a grace period outside 0..86400', async () => {
    await expect(
      suite.db.insertInto('security_config').values({ id: 2, updated_at: new Date() }).execute(),
    ).rejects.toMatchObject({ code: '23514' });
    await expect(
      suite.db.updateTable('security_config').set({ grace_period_seconds: 86_401 }).execute(),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('refuses an unknown role and a mixed-case email', async () => {
    const at = new Date();
    const user = { password_hash: 'h', created_at: at, updated_at: at };
    await expect(
      suite.db
        .insertInto('users')
        .values({ ...user, id: crypto.randomUUID(), email: 'x@example.com', role: 'root' as 'admin' })
        .execute(),
    ).rejects.toMatchObject({ code: '23514' });
    await expect(
      suite.db
        .insertInto('users')
        .values({ ...user, id: crypto.randomUUID(), email: 'Mixed@Example.com', role: 'user' })
        .execute(),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('0005 rewrites emails stored before NFKC to their NFKC form, unless another account holds it', async () => {
    const at = new Date();
    const insert = (email: string) =>
      suite.db
        .insertInto('users')
        .values({
          id: crypto.randomUUID(),
          email,
          password_hash: 'h',
          role: 'user',
          created_at: at,
          updated_at: at,
        })
        .execute();
    // As the old rule (trim, lower case) stored them.
    for (const email of [
      'ｊｏ@example.com',
      'jose\u0301@example.com',
      'ascii@example.com',
      'ｂob@example.com',
      'bob@example.com',
    ])
      await insert(email);
    await sql`delete from tokenwarden_migration where name = '0005-email-nfkc'`.execute(suite.db);
    expect(await migrateToLatest(suite.db)).toEqual(['0005-email-nfkc']);
    const emails = (await suite.db.selectFrom('users').select('email').execute()).map((row) => row.email);
    expect(emails).toEqual(
      expect.arrayContaining([
        'jo@example.com',
        'jos\u00e9@example.com',
        'ascii@example.com',
        'ｂob@example.com',
        'bob@example.com',
      ]),
    );
    expect(emails).not.toContain('ｊｏ@example.com');
  });

  it.runIf(suite.name === 'postgres')(
    'lets two processes migrate an empty schema at the same time',
    async () => {
      const url = process.env.DATABASE_URL!;
      const schema = `tw_t_${randomBytes(6).toString('hex')}`;
      const first = await createDatabase({ kind: 'postgres', url, schema, poolSize: 2 });
      const second = await createDatabase({ kind: 'postgres', url, schema, poolSize: 2 });
      try {
        const applied = await Promise.all([migrateToLatest(first.db), migrateToLatest(second.db)]);
        expect(applied.flat()).toEqual(Object.keys(MIGRATIONS));
        const config = await second.db
          .selectFrom('security_config')
          .select('global_min_token_version')
          .execute();
        expect(config).toEqual([{ global_min_token_version: 1 }]);
      } finally {
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(first.db);
        await Promise.all([first.close(), second.close()]);
      }
    },
  );

  it.runIf(suite.name === 'postgres')(
    'migrates while other schemas of the same database are being dropped',
    async () => {
      const url = process.env.DATABASE_URL!;
      const churn = await createDatabase({ kind: 'postgres', url, poolSize: 2 });
      let stop = false;
      // Another tenant (or test) creating and dropping schemas, with a table each, all along.
      const churning = (async () => {
        for (let i = 0; !stop && i < 500; i++) {
          const other = `tw_churn_${randomBytes(4).toString('hex')}`;
          await sql`create schema ${sql.id(other)}`.execute(churn.db);
          await sql`create table ${sql.id(other)}.t (id serial primary key)`.execute(churn.db);
          await sql`drop schema ${sql.id(other)} cascade`.execute(churn.db);
        }
      })();
      try {
        for (let round = 0; round < 8; round++) {
          const schema = `tw_t_${randomBytes(6).toString('hex')}`;
          const db = await createDatabase({ kind: 'postgres', url, schema, poolSize: 1 });
          try {
            expect(await migrateToLatest(db.db)).toEqual(Object.keys(MIGRATIONS));
          } finally {
            await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db.db);
            await db.close();
          }
        }
      } finally {
        stop = true;
        await churning;
        await churn.close();
      }
    },
  );
});
