/**
 * The SQL one refresh commits, taken from the repository itself
 * (src/infrastructure/database/repositories/kysely-refresh-token-repository.ts:
 * `refreshFactsStatement`, `rotationStatement`) and never copied: compiled here for
 * node-postgres (the floors of bench/refresh-floor.ts, values by name) and written out as
 * pgbench scripts whose values are pgbench expressions naming the rows bench/support/seed.ts
 * seeded for token `:n`. A change to the repository's statements changes what every
 * benchmark runs.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type RawBuilder,
  sql,
} from 'kysely';
import {
  type RotationValues,
  refreshFactsStatement,
  rotationStatement,
} from '../../src/infrastructure/database/repositories/kysely-refresh-token-repository.js';
import type { Database } from '../../src/infrastructure/database/schema.js';

/** Compiles only: the server's dialect's compiler, no connection. */
const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The token hash bench/support/seed.ts gives token `n`: `md5(n) || md5(n+1)` (any string key for successors). */
export function seededHash(n: number | string): string {
  return typeof n === 'number' ? md5(String(n)) + md5(String(n + 1)) : md5(`${n}a`) + md5(`${n}b`);
}

/** A sealed successor of the real size (what the server stores under a used token). */
const SEALED =
  'v1.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';

/** What the seeded rows carry: versions 1/1, no grace, role user (bench/support/seed.ts). */
const SEEDED_EXPECTATION = {
  globalMinTokenVersion: 1,
  graceUntil: null,
  userMinTokenVersion: 1,
  role: 'user',
} as const;

/** A statement's text with its values in order, by name: what node-postgres sends. */
interface NamedStatement<K extends string> {
  readonly name: string;
  readonly text: string;
  readonly values: (named: Readonly<Record<K, unknown>>) => unknown[];
}

function named<K extends string>(name: string, build: (value: (key: K) => unknown) => RawBuilder<unknown>) {
  const compiled = build((key) => key).compile(compiler);
  const keys = compiled.parameters as readonly K[];
  const statement: NamedStatement<K> = {
    name,
    text: compiled.sql,
    values: (values) => keys.map((key) => values[key]),
  };
  return statement;
}

/** The refresh's unlocked read (`findFacts`). */
const FIND = named<'tokenHash'>('floor_find', (value) => refreshFactsStatement(false, value('tokenHash')));

/** The refresh's write after an unlocked read (`rotate` with an expectation). */
const ROTATE = named<keyof RotationValues>('floor_rotate', (value) => rotationStatement('unchanged', value));

/** The refresh's unlocked read of a token, as a node-postgres named statement. */
export function findQuery(tokenHash: string): { name: string; text: string; values: unknown[] } {
  return { name: FIND.name, text: FIND.text, values: FIND.values({ tokenHash }) };
}

/**
 * The refresh's write (re-checking under locks what a seeded token carries) of a
 * successor, dated by this process's clock, as a node-postgres named statement.
 */
export function rotateQuery(rotation: {
  readonly parentId: string;
  readonly successorId: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly tokenHash: string;
  readonly successorSealed: string;
}): { name: string; text: string; values: unknown[] } {
  const now = Date.now();
  const values = ROTATE.values({
    ...rotation,
    ...SEEDED_EXPECTATION,
    writeBefore: new Date(now + 9_500),
    userVersion: 1,
    globalVersion: 1,
    createdAt: new Date(now),
    expiresAt: new Date(now + 14 * 86_400_000),
    usedAt: new Date(now),
  });
  return { name: ROTATE.name, text: ROTATE.text, values };
}

/** Each value of a rotation as a pgbench expression over token `:n` and a random `:r`. */
const PGBENCH_ROTATION: Readonly<Record<keyof RotationValues, string>> = {
  // The server's write deadline (its response deadline) from the read's database time.
  writeBefore: `now() + interval '9500 milliseconds'`,
  parentId: `md5('t' || :n)::uuid`,
  successorId: `md5(:client_id || '-' || :r)::uuid`,
  sessionId: `md5('s' || :n)::uuid`,
  userId: `md5('u' || ((:n + 9) / 10))::uuid`,
  tokenHash: `md5(:client_id || 'a' || :r) || md5(:client_id || 'b' || :r)`,
  userVersion: '1',
  globalVersion: '1',
  createdAt: 'now()',
  expiresAt: `now() + interval '14 days'`,
  usedAt: 'now()',
  successorSealed: `'${SEALED}'`,
  globalMinTokenVersion: String(SEEDED_EXPECTATION.globalMinTokenVersion),
  graceUntil: 'null',
  userMinTokenVersion: String(SEEDED_EXPECTATION.userMinTokenVersion),
  role: `'${SEEDED_EXPECTATION.role}'`,
};
const PGBENCH_TOKEN_HASH = `md5(:n::text) || md5((:n + 1)::text)`;

/** A statement as pgbench runs it: each value an expression in the text, no parameters. */
function forPgbench<K extends string>(
  build: (value: (key: K) => unknown) => RawBuilder<unknown>,
  expressions: Readonly<Record<K, string>>,
): string {
  const compiled = build((key) => sql.raw(`(${expressions[key]})`)).compile(compiler);
  if (compiled.parameters.length > 0) throw new Error('a value of the statement has no pgbench expression');
  return `${compiled.sql.trim()};`;
}

const read = (locked: boolean) =>
  forPgbench<'tokenHash'>((value) => refreshFactsStatement(locked, value('tokenHash')), {
    tokenHash: PGBENCH_TOKEN_HASH,
  });
const write = (guard: 'locks-held' | 'unchanged') =>
  forPgbench<keyof RotationValues>((value) => rotationStatement(guard, value), PGBENCH_ROTATION);

/**
 * Token :n is seeded by bench/support/seed.ts (bench/support/pgbench.ts seeds a fresh range
 * :base+1 .. :base+:ntokens before each run); each client takes the next token of its own
 * stride, so no token is drawn twice while the range lasts (-D i=0 base=… ntokens=… clients=…).
 */
const HEADER = [
  '\\set i :i + 1',
  '\\set n :base + 1 + (:client_id + :clients * (:i - 1)) % :ntokens',
  '\\set r random(1, 1000000000000)',
];

const sqlDir = (file: string) => fileURLToPath(new URL(`../sql/${file}`, import.meta.url));

/** The pgbench scripts built from the repository's statements, by the name the benchmarks know them. */
const GENERATED: Readonly<Record<string, () => Promise<readonly string[]>>> = {
  // The common path: two statements, each its own transaction (no BEGIN/COMMIT), 2 round trips.
  'refresh.sql': async () => [read(false), write('unchanged')],
  // The locked path (a used token, a change since the read): 4 round trips.
  'refresh-locked.sql': async () => ['BEGIN;', read(true), write('locks-held'), 'COMMIT;'],
  // The locked path with the version check's part of the read taken out (the write is the
  // repository's: its stamps are parameters either way). No production path runs this read.
  'refresh-no-version-check.sql': async () => [
    'BEGIN;',
    (await readFile(sqlDir('refresh-read-no-version-check.sql'), 'utf8')).trim(),
    write('locks-held'),
    'COMMIT;',
  ],
};

/** The statements of a generated script, for a reader (bench/support/refresh-statements.test.ts). */
export async function generatedScript(name: string): Promise<string> {
  const build = GENERATED[name];
  if (build === undefined) throw new Error(`${name} is not generated`);
  return [
    `-- ${name}: generated by bench/support/refresh-statements.ts from the repository's statements.`,
    ...HEADER,
    ...(await build()),
  ].join('\n');
}

/** The file pgbench runs for `script`: generated from the repository, or one of bench/sql/ (the alternatives). */
export async function pgbenchScriptFile(script: string): Promise<string> {
  if (GENERATED[script] === undefined) return sqlDir(script);
  const dir = join(tmpdir(), `tokenwarden-bench-sql-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, script);
  await writeFile(file, `${await generatedScript(script)}\n`);
  return file;
}
