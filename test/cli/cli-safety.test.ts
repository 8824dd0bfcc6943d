import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/infrastructure/database/create-database.js';
import { MIGRATIONS } from '../../src/infrastructure/database/migrator.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/instances.js';
import { USER_PASSWORD } from '../support/test-app.js';
import { cliDatabaseTargets, runCli, runJson } from './cli-harness.js';

// Most runs open the database in this process: PGlite takes a second or more each on a loaded
// two-core machine, and migrate's initdb far longer.
const SLOW = 300_000;
const DATABASE_URL = process.env.DATABASE_URL ?? '';
const BACKUPS_DOC = fileURLToPath(new URL('../../docs/BACKUPS.md', import.meta.url));

/** Every command but migrate and serve, reads and writes: none may create or migrate anything. */
const COMMANDS: readonly (readonly string[])[] = [
  ['config', 'get'],
  ['config', 'set', '--grace', '0'],
  ['audit', 'list'],
  ['users', 'list'],
  ['users', 'create', '--email', 'new@example.com'],
  ['sessions', 'list', 'someone@example.com'],
  ['rotate', 'global', '--reason', 'typo check', '--dry-run'],
  ['rotate', 'user', 'someone@example.com', '--reason', 'r'],
  ['keys', 'list'],
  ['clients', 'list'],
];

describe('operator commands on a PGlite data directory that is not there', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tokenwarden-cli-safety-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each(COMMANDS.map((args) => ({ args })))(
    'refuses a mistyped directory and creates nothing: $args',
    async ({ args }) => {
      const dataDir = join(root, `.tokenwardn-${args.join('-')}`);
      const result = await runCli(args, { TOKENWARDEN_DATA_DIR: dataDir }, `${USER_PASSWORD}\n`);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(
        `the PGlite data directory ${resolve(dataDir)} holds no tokenwarden database`,
      );
      expect(result.stderr).toContain('`tokenwarden migrate`');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(dataDir)).toBe(false);
    },
    SLOW,
  );

  it(
    'refuses an empty directory without leaving a lock file in it, and migrate then creates the database',
    async () => {
      const dataDir = join(root, 'empty');
      await mkdir(dataDir);
      const refused = await runCli(['config', 'get'], { TOKENWARDEN_DATA_DIR: dataDir });
      expect(refused.code).toBe(2);
      expect(await readdir(dataDir)).toEqual([]);

      const migrated = await runJson<{ applied: string[] }>(['migrate'], { TOKENWARDEN_DATA_DIR: dataDir });
      expect(migrated.applied).toEqual(Object.keys(MIGRATIONS));
      const config = await runJson(['config', 'get'], { TOKENWARDEN_DATA_DIR: dataDir });
      expect(config).toMatchObject({ globalMinTokenVersion: 1 });
    },
    SLOW,
  );
});

describe('tokenwarden audit list --action', () => {
  it(
    'refuses an action that does not exist, listing the valid ones, before opening anything',
    async () => {
      const root = await mkdtemp(join(tmpdir(), 'tokenwarden-cli-action-'));
      try {
        const env = { TOKENWARDEN_DATA_DIR: join(root, 'never-created') };
        const typo = await runCli(['audit', 'list', '--action', 'token_rotation.globl'], env);
        expect(typo.code).toBe(2);
        expect(typo.stdout).toBe('');
        expect(typo.stderr).toContain('"token_rotation.globl"');
        expect(typo.stderr).toMatch(/expected one of .*token_rotation\.global,.*user\.disabled/);
        // A bidi override or an escape sequence in the argument is echoed escaped, on one line.
        const hostile = await runCli(['audit', 'list', '--action', 'user.disabled\u202e\u001b[2J\nx'], env);
        expect(hostile.code).toBe(2);
        expect(hostile.stderr.includes('\u202e') || hostile.stderr.includes('\u001b')).toBe(false);
        expect(hostile.stderr).toContain('\\u202e');
        expect(hostile.stderr.trim().split('\n')).toHaveLength(1);
        expect(existsSync(env.TOKENWARDEN_DATA_DIR)).toBe(false);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
    SLOW,
  );
});

describe('a PostgreSQL server that does not answer', () => {
  it.each([{ args: ['config', 'get'] }, { args: ['migrate'] }])(
    'is named, password redacted, with exit 2: $args',
    async ({ args }) => {
      const url = 'postgres://tw_user:hunter2secret@127.0.0.1:1/tokenwarden_prod?password=alsosecret';
      const result = await runCli(args, { DATABASE_URL: url });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        'cannot connect to the PostgreSQL database postgres://tw_user:***@127.0.0.1:1/tokenwarden_prod?password=***',
      );
      expect(result.stderr).toMatch(/ECONNREFUSED/);
      expect(result.stderr).not.toMatch(/hunter2secret|alsosecret|migration/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    },
    SLOW,
  );
});

describe.each(cliDatabaseTargets())(
  'operator commands against a database of an older version on $name',
  (target) => {
    it(
      'refuse a database behind the code (reads too), say which migrations and how to upgrade; migrate fixes it',
      async () => {
        const database = await target.create({ initialised: false });
        try {
          const config = loadConfig({ ...database.env, LOG_LEVEL: 'silent' });
          const names = Object.keys(MIGRATIONS).sort();
          const last = names.at(-1) as string;
          // What the previous release left: every migration but the last, applied by its runner.
          const handle =
            config.database.kind === 'pglite'
              ? await createDatabase({ kind: 'pglite', dataDir: config.database.dataDir })
              : await createDatabase({
                  kind: 'postgres',
                  url: config.database.url,
                  schema: config.database.schema,
                });
          try {
            await sql`create table tokenwarden_migration (name text primary key, applied_at timestamptz not null default now())`.execute(
              handle.db,
            );
            for (const name of names.slice(0, -1)) {
              await MIGRATIONS[name]!.up(handle.db);
              await sql`insert into tokenwarden_migration (name) values (${name})`.execute(handle.db);
            }
          } finally {
            await handle.close();
          }

          for (const args of [
            ['audit', 'list'],
            ['config', 'set', '--grace', '0'],
          ]) {
            const refused = await runCli(args, database.env);
            expect(refused.code).toBe(2);
            expect(refused.stdout).toBe('');
            expect(refused.stderr).toContain(`is at migration ${names.at(-2)}`);
            expect(refused.stderr).toContain(`needs 1 more (${last})`);
            expect(refused.stderr).toContain('`tokenwarden migrate`');
          }
          const migrated = await runJson<{ applied: string[] }>(['migrate'], database.env);
          expect(migrated.applied).toEqual([last]);
          expect((await runCli(['audit', 'list'], database.env)).code).toBe(0);
        } finally {
          await database.drop();
        }
      },
      SLOW,
    );

    it(
      'work on a database a newer version migrated (migrations only add), as an older server does in a rolling upgrade',
      async () => {
        const database = await target.create();
        try {
          const core = await database.openCore();
          try {
            await sql`insert into tokenwarden_migration (name) values ('9999-from-the-future')`.execute(
              core.db,
            );
          } finally {
            await core.close();
          }
          const config = await runJson(['config', 'get'], database.env);
          expect(config).toMatchObject({ globalMinTokenVersion: 1 });
        } finally {
          await database.drop();
        }
      },
      SLOW,
    );
  },
);

describe.skipIf(DATABASE_URL === '')('PostgreSQL schemas', () => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await createScratchDatabase(DATABASE_URL);
  });
  afterAll(async () => {
    await scratch?.drop();
  });

  const query = async <T extends pg.QueryResultRow>(text: string): Promise<T[]> => {
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    try {
      return (await client.query<T>(text)).rows;
    } finally {
      await client.end();
    }
  };
  const tablesIn = async (schema: string) =>
    (
      await query<{ name: string }>(
        `select table_name as name from information_schema.tables where table_schema = '${schema}' order by 1`,
      )
    ).map((row) => row.name);

  it(
    'refuses a schema never set up, naming it, without creating it',
    async () => {
      const env = { DATABASE_URL: scratch.url, TOKENWARDEN_DB_SCHEMA: 'never_set_up' };
      const result = await runCli(['users', 'list'], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        `the PostgreSQL database ${scratch.url} (schema never_set_up) holds no tokenwarden database`,
      );
      expect(await query(`select 1 from pg_namespace where nspname = 'never_set_up'`)).toEqual([]);
    },
    SLOW,
  );

  it(
    "two services with different schemas share one database, next to the application's own public.users",
    async () => {
      await query(`create table public.users (id int primary key, name text not null)`);
      await query(`insert into public.users values (1, 'the application''s own row')`);
      const first = { DATABASE_URL: scratch.url };
      const second = { DATABASE_URL: scratch.url, TOKENWARDEN_DB_SCHEMA: 'billing_auth' };

      expect((await runJson<{ applied: string[] }>(['migrate'], first)).applied).toEqual(
        Object.keys(MIGRATIONS),
      );
      expect((await runJson<{ applied: string[] }>(['migrate'], second)).applied).toEqual(
        Object.keys(MIGRATIONS),
      );
      await runJson(['users', 'create', '--email', 'first@example.com'], first, `${USER_PASSWORD}\n`);
      await runJson(['users', 'create', '--email', 'second@example.com'], second, `${USER_PASSWORD}\n`);

      const emails = async (env: Record<string, string>) =>
        (await runJson<{ items: { email: string }[] }>(['users', 'list'], env)).items.map((u) => u.email);
      expect(await emails(first)).toEqual(['first@example.com']);
      expect(await emails(second)).toEqual(['second@example.com']);
      // Each in its own schema (the default one is `tokenwarden`); public holds the application's table only.
      expect(await tablesIn('tokenwarden')).toContain('tokenwarden_migration');
      expect(await tablesIn('billing_auth')).toEqual(await tablesIn('tokenwarden'));
      expect(await tablesIn('public')).toEqual(['users']);
      expect(await query('select * from public.users')).toEqual([
        { id: 1, name: "the application's own row" },
      ]);
    },
    SLOW,
  );

  it(
    'keeps an installation from before TOKENWARDEN_DB_SCHEMA working in public, with a warning, until moved by the statements in docs/BACKUPS.md',
    async () => {
      const legacy = await createScratchDatabase(DATABASE_URL);
      try {
        const env = { DATABASE_URL: legacy.url };
        // The previous release: its tables in public (TOKENWARDEN_DB_SCHEMA=public does what it did).
        await migrateDatabase(loadConfig({ ...env, TOKENWARDEN_DB_SCHEMA: 'public', LOG_LEVEL: 'silent' }));
        await runJson(['users', 'create', '--email', 'old@example.com'], env, `${USER_PASSWORD}\n`);

        const listed = await runCli(['users', 'list', '--json'], env);
        expect(listed.code).toBe(0);
        expect(JSON.parse(listed.stdout).items).toEqual([
          expect.objectContaining({ email: 'old@example.com' }),
        ]);
        // The warning is a log line (JSON, on stderr: stdout carries the result), then the line
        // naming the database the command acted on.
        const [logLine, where] = listed.stderr.trim().split('\n');
        expect(where).toMatch(/^tokenwarden: on the PostgreSQL database \S+ \(schema public\)$/);
        const warning = JSON.parse(logLine!) as Record<string, unknown>;
        expect(warning).toMatchObject({ level: 40, configuredSchema: 'tokenwarden', schema: 'public' });
        expect(warning.msg).toContain(`tokenwarden's tables are in schema "public"`);
        expect(warning.msg).toContain('ALTER TABLE … SET SCHEMA');
        // Nothing was made in the schema it was not using.
        const client = new pg.Client({ connectionString: legacy.url });
        await client.connect();
        try {
          expect(
            (await client.query(`select 1 from pg_namespace where nspname = 'tokenwarden'`)).rows,
          ).toEqual([]);
          // The documented one-off move, exactly as printed there.
          const doc = await readFile(BACKUPS_DOC, 'utf8');
          const heading = doc.indexOf('## Moving to a schema of its own');
          expect(heading).toBeGreaterThanOrEqual(0);
          const section = doc.slice(heading);
          const statements = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
          expect(statements).toBeDefined();
          await client.query(statements as string);
          const left = await client.query(
            `select table_name from information_schema.tables where table_schema = 'public'`,
          );
          // Every table moved: a migration that adds one must add it to the documented list too.
          expect(left.rows).toEqual([]);
        } finally {
          await client.end();
        }

        const moved = await runCli(['users', 'list', '--json'], env);
        expect(moved.code).toBe(0);
        expect(JSON.parse(moved.stdout).items).toEqual([
          expect.objectContaining({ email: 'old@example.com' }),
        ]);
        // No warning about the schema any more: only the line naming the database (its new schema).
        expect(moved.stderr).toMatch(
          /^tokenwarden: on the PostgreSQL database postgres:\/\/\S+ \(schema \w+\)\n$/,
        );
      } finally {
        await legacy.drop();
      }
    },
    SLOW,
  );
});
