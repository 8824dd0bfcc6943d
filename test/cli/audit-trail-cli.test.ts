import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateSession } from '../../src/application/commands/create-session/command.js';
import { RegisterUser } from '../../src/application/commands/register-user/command.js';
import { RevokeSession } from '../../src/application/commands/revoke-session/command.js';
import { TriggerGlobalTokenRotation } from '../../src/application/commands/trigger-global-token-rotation/command.js';
import { TriggerUserTokenRotation } from '../../src/application/commands/trigger-user-token-rotation/command.js';
import type { Core } from '../../src/composition-root.js';
import { signCheckpoint } from '../../src/domain/audit-checkpoint.js';
import { AuditCheckpointer } from '../../src/infrastructure/audit/audit-checkpointer.js';
import { pruneAuditSegment } from '../../src/infrastructure/database/audit-segment-prune.js';
import { USER_PASSWORD } from '../support/test-app.js';
import { CLI_ACTOR, type CliDatabase, cliDatabaseTargets, runCli, runJson } from './cli-harness.js';

// Each run opens the database in this process: PGlite takes a second or more on a loaded machine.
const SLOW = 240_000;

interface VerifyJson {
  readonly ok: boolean;
  readonly rows: number;
  readonly lastSeq: number;
  readonly upgradeSeq: number;
  readonly break: { kind: string; seq: number; id: string | null } | null;
}

function ok<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) throw result.error;
  return result.value;
}

/** Audited writes of every kind the write paths make: sign-up, login, rotations, logout. */
async function auditedWrites(core: Core, label: string): Promise<void> {
  const email = `${label}-${randomBytes(4).toString('hex')}@example.com`;
  const user = ok(
    await core.services.registerUser.handle(
      RegisterUser({ email, password: USER_PASSWORD, role: 'user', actor: CLI_ACTOR }),
    ),
  );
  const login = ok(
    await core.services.createSession.handle(
      CreateSession({ email, password: USER_PASSWORD, userAgent: null, ip: null }),
    ),
  );
  ok(
    await core.services.triggerUserTokenRotation.handle(
      TriggerUserTokenRotation({ userId: user.id, triggeredBy: CLI_ACTOR, reason: `rotate ${label}` }),
    ),
  );
  ok(
    await core.services.revokeSession.handle(
      RevokeSession({ sessionId: login.sessionId, ownerId: null, actor: CLI_ACTOR, reason: 'logout' }),
    ),
  );
  // Chained after their commits: wait for it, as the tests below edit rows by seq.
  await core.auditChainer.chainNow();
}

describe.each(cliDatabaseTargets())('tokenwarden audit export and verify on $name', (target) => {
  let database: CliDatabase;
  let dir: string;
  beforeAll(async () => {
    database = await target.create();
    dir = await mkdtemp(join(tmpdir(), 'tw-audit-'));
    const core = await database.openCore();
    try {
      await auditedWrites(core, 'a');
      await auditedWrites(core, 'b');
      ok(
        await core.services.triggerGlobalTokenRotation.handle(
          TriggerGlobalTokenRotation({ triggeredBy: CLI_ACTOR, reason: 'key leaked' }),
        ),
      );
    } finally {
      await core.close();
    }
  }, SLOW);
  afterAll(async () => {
    await database?.drop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Runs `tamper` on the database, `check` with it tampered, then puts every row back as it was. */
  async function tampered(tamper: string[], check: () => Promise<void>): Promise<void> {
    const core = await database.openCore();
    try {
      await sql`create table audit_backup as select * from audit_log`.execute(core.db);
      for (const statement of tamper) await sql.raw(statement).execute(core.db);
    } finally {
      await core.close();
    }
    try {
      await check();
    } finally {
      const again = await database.openCore();
      try {
        await sql`delete from audit_log`.execute(again.db);
        await sql`insert into audit_log select * from audit_backup`.execute(again.db);
        await sql`drop table audit_backup`.execute(again.db);
      } finally {
        await again.close();
      }
    }
  }

  async function expectBroken(kind: string, seq: number, id: string | null) {
    const result = await runCli(['audit', 'verify', '--json'], database.env);
    expect(result.code).toBe(1);
    const verdict = JSON.parse(result.stdout) as VerifyJson;
    expect(verdict.break).toEqual({ kind, seq, id, detail: expect.any(String) });
    expect(result.stderr).toContain(
      `audit trail broken at seq ${seq}${id === null ? '' : ` (id ${id})`}: ${kind}`,
    );
  }

  async function idOf(seq: number): Promise<string> {
    const core = await database.openCore();
    try {
      const row = await core.db
        .selectFrom('audit_log')
        .select('id')
        .where('seq', '=', String(seq))
        .executeTakeFirstOrThrow();
      return String(row.id);
    } finally {
      await core.close();
    }
  }

  it(
    'verifies the intact trail from the database and from an export, offline; exit 0',
    async () => {
      const text = await runCli(['audit', 'verify'], database.env);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^Audit trail intact: \d+ rows, seq 1\.\.\d+, last hash [0-9a-f]{64}\./);
      expect(text.stdout).toMatch(/not proven by a checkpoint/);
      const json = await runJson<VerifyJson>(['audit', 'verify'], database.env);
      expect(json).toMatchObject({ ok: true, break: null, upgradeSeq: 0 });
      expect(json.rows).toBeGreaterThanOrEqual(9);

      const file = join(dir, 'trail.jsonl');
      const exported = await runCli(['audit', 'export', '--output', file], database.env);
      expect(exported.code).toBe(0);
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(json.rows + 1);
      expect(JSON.parse(lines[0] as string)).toMatchObject({
        format: 'tokenwarden-audit-export/1',
        head: { seq: json.lastSeq },
      });
      // Offline: no database named at all.
      const offline = await runJson<VerifyJson>(['audit', 'verify', '--from', file], {});
      expect(offline).toMatchObject({ ok: true, rows: json.rows, lastSeq: json.lastSeq });
      // The same export on stdout; an existing file is not overwritten.
      const stdout = await runCli(['audit', 'export'], database.env);
      expect(stdout.stdout.trim().split('\n').slice(1)).toEqual(lines.slice(1));
      expect((await runCli(['audit', 'export', '--output', file], database.env)).code).toBe(2);
    },
    SLOW,
  );

  it(
    'names an edited row (even a reason changed by one character), exit 1',
    async () => {
      const id = await idOf(3);
      await tampered(["update audit_log set reason = reason || '.' where seq = 3"], () =>
        expectBroken('edited', 3, id),
      );
    },
    SLOW,
  );

  it(
    'names the row after a deleted one as missing its predecessor',
    async () => {
      const id = await idOf(5);
      await tampered(['delete from audit_log where seq = 4'], () => expectBroken('missing', 5, id));
    },
    SLOW,
  );

  it(
    'names a row slipped into the middle (the rows after renumbered to make room)',
    async () => {
      await tampered(
        [
          'update audit_log set seq = -seq - 1 where seq >= 4',
          'update audit_log set seq = -seq where seq < 0',
          `insert into audit_log (seq, prev_hash, hash, occurred_at, actor, action, reason)
             select 4, hash, repeat('e', 64), occurred_at, 'cli:someone', 'user.enabled', 'cover story'
             from audit_log where seq = 3`,
        ],
        async () => expectBroken('inserted', 4, await idOf(4)),
      );
    },
    SLOW,
  );

  it(
    'names a row left unchained past the bound (slipped in, or a chainer stuck), by id',
    async () => {
      const core = await database.openCore();
      let id: string;
      try {
        // Pending longer than the bound: no chainer ran on it (this one is never told).
        const row = await sql<{
          id: string;
        }>`insert into audit_log (occurred_at, actor, action, reason)
          values (now() - interval '2 minutes', 'cli:someone', 'user.enabled', 'cover story') returning id`.execute(
          core.db,
        );
        id = String(row.rows[0]?.id);
      } finally {
        await core.close();
      }
      try {
        const result = await runCli(['audit', 'verify', '--json'], database.env);
        expect(result.code).toBe(1);
        expect(JSON.parse(result.stdout).break).toEqual({
          kind: 'inserted',
          seq: null,
          id,
          detail: expect.any(String),
        });
        expect(result.stderr).toContain(`audit trail broken at id ${id} (no seq): inserted`);
      } finally {
        const again = await database.openCore();
        try {
          await sql`delete from audit_log where seq is null`.execute(again.db);
        } finally {
          await again.close();
        }
      }
    },
    SLOW,
  );

  it(
    'names a reordered row (two rows swapped their places)',
    async () => {
      const id6 = await idOf(6);
      await tampered(
        [
          'update audit_log set seq = -1 where seq = 5',
          'update audit_log set seq = 5 where seq = 6',
          'update audit_log set seq = 6 where seq = -1',
        ],
        () => expectBroken('reordered', 5, id6),
      );
    },
    SLOW,
  );

  it(
    'names a cut tail against the head, and a tampered export offline',
    async () => {
      const json = await runJson<VerifyJson>(['audit', 'verify'], database.env);
      await tampered([`delete from audit_log where seq = ${json.lastSeq}`], () =>
        expectBroken('truncated', json.lastSeq, null),
      );
      const file = join(dir, 'edited.jsonl');
      expect((await runCli(['audit', 'export', '--output', file], database.env)).code).toBe(0);
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      const row = JSON.parse(lines[2] as string) as { seq: number; id: string; reason: string };
      lines[2] = JSON.stringify({ ...row, reason: `${row.reason}.` });
      await writeFile(file, `${lines.join('\n')}\n`);
      const offline = await runCli(['audit', 'verify', '--from', file], {});
      expect(offline.code).toBe(1);
      expect(offline.stderr).toContain(`audit trail broken at seq ${row.seq} (id ${row.id}): edited`);
      // What is not an export is refused, exit 2, naming the line.
      await writeFile(file, `${lines[0]}\nnot json\n`);
      const unreadable = await runCli(['audit', 'verify', '--from', file], {});
      expect(unreadable.code).toBe(2);
      expect(unreadable.stderr).toContain(`${file}:2: not JSON`);
    },
    SLOW,
  );

  it(
    'checks an export against signed checkpoints offline: a cut tail is found, a forged checkpoint refused',
    async () => {
      const file = join(dir, 'checkpointed.jsonl');
      expect((await runCli(['audit', 'export', '--output', file], database.env)).code).toBe(0);
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      const header = JSON.parse(lines[0] as string) as { head: { seq: number; hash: string } };
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const keyFile = join(dir, 'checkpoint-key.json');
      await writeFile(
        keyFile,
        JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'cp1', use: 'tw-audit' }] }),
      );
      const checkpoints = join(dir, 'checkpoints.log');
      const signed = signCheckpoint({ ...header.head, at: new Date().toISOString(), kid: 'cp1' }, privateKey);
      await writeFile(
        checkpoints,
        `${JSON.stringify({ level: 30, msg: 'audit checkpoint', checkpoint: signed })}\n`,
      );
      const args = ['audit', 'verify', '--from', file, '--checkpoints', checkpoints, '--public-key', keyFile];

      const proven = await runCli(args, {});
      expect(proven.code).toBe(0);
      expect(proven.stdout).toContain(`Every row up to seq ${header.head.seq} is proven by a checkpoint`);

      // The attacker cuts the last two rows and moves the head back with them: only the checkpoint tells.
      const kept = lines.slice(1, -2).map((line) => JSON.parse(line) as { seq: number; hash: string });
      const last = kept.at(-1) as { seq: number; hash: string };
      const cut = join(dir, 'cut.jsonl');
      await writeFile(
        cut,
        `${[JSON.stringify({ ...header, head: { seq: last.seq, hash: last.hash } }), ...lines.slice(1, -2)].join('\n')}\n`,
      );
      expect((await runCli(['audit', 'verify', '--from', cut], {})).code).toBe(0);
      const truncated = await runCli(
        ['audit', 'verify', '--from', cut, '--checkpoints', checkpoints, '--public-key', keyFile],
        {},
      );
      expect(truncated.code).toBe(1);
      expect(truncated.stderr).toContain(`audit trail broken at seq ${last.seq + 1}: truncated`);

      // A checkpoint signed by another key is refused, named by its line.
      const forged = signCheckpoint(
        { ...header.head, at: new Date().toISOString(), kid: 'cp1' },
        generateKeyPairSync('ed25519').privateKey,
      );
      await writeFile(checkpoints, `${signed}\n${forged}\n`);
      const refused = await runCli(args, {});
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        '1 checkpoint(s) refused, the first on line 2: wrong signature for kid cp1',
      );
      expect((await runCli(['audit', 'verify', '--from', file, '--checkpoints', checkpoints], {})).code).toBe(
        2,
      );
    },
    SLOW,
  );

  it(
    'audit keys prints the checkpoint key; verify --stored and --checkpoints take what the server signed and sent out',
    async () => {
      const logFile = join(dir, 'server-checkpoints.jsonl');
      const core = await database.openCore();
      let seq: number;
      try {
        const checkpointer = new AuditCheckpointer(
          { db: core.db, clock: core.context.clock, keys: core.auditKeys },
          { rows: 1, seconds: 300, file: logFile },
        );
        const signed = (await checkpointer.runOnce()).signed;
        expect(signed).not.toBeNull();
        seq = signed?.seq ?? 0;
      } finally {
        await core.close();
      }
      const keys = await runCli(['audit', 'keys'], database.env);
      expect(keys.code).toBe(0);
      const keyFile = join(dir, 'checkpoint-key.json');
      await writeFile(keyFile, keys.stdout);
      expect(JSON.parse(keys.stdout)).toMatchObject({
        keys: [{ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', purpose: 'tokenwarden-audit-checkpoint' }],
      });

      const stored = await runJson<
        VerifyJson & { storedCheckpoints: { lastSeq: number; refused: unknown[] } }
      >(['audit', 'verify', '--stored'], database.env);
      expect(stored).toMatchObject({ ok: true, storedCheckpoints: { lastSeq: seq, refused: [] } });
      const external = await runCli(
        ['audit', 'verify', '--checkpoints', logFile, '--public-key', keyFile],
        database.env,
      );
      expect(external.code).toBe(0);
      expect(external.stdout).toContain(
        `Every row up to seq ${seq} is proven by a checkpoint held outside the database.`,
      );

      const setJws = async (change: string) => {
        const again = await database.openCore();
        try {
          await sql.raw(`update audit_checkpoints set jws = ${change} where seq = ${seq}`).execute(again.db);
        } finally {
          await again.close();
        }
      };
      await setJws(`jws || 'A'`);
      try {
        const refused = await runCli(['audit', 'verify', '--stored'], database.env);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(`stored checkpoint(s) refused, the first at seq ${seq}`);
      } finally {
        await setJws('left(jws, length(jws) - 1)');
      }
      expect((await runCli(['audit', 'verify', '--stored', '--from', logFile], {})).code).toBe(2);
    },
    SLOW,
  );

  it(
    'export carries the pruning anchor and the stored checkpoints; verify --from --public-key checks their signatures',
    async () => {
      const core = await database.openCore();
      let anchorSeq: number;
      try {
        await auditedWrites(core, 'c');
        // Every row up to the newest stored checkpoint is "old" for a cutoff in the future.
        expect(await pruneAuditSegment(core.db, new Date(Date.now() + 86_400_000), 1000)).toBeGreaterThan(0);
        const anchor = await core.db.selectFrom('audit_chain_anchor').select('seq').executeTakeFirstOrThrow();
        anchorSeq = Number(anchor.seq);
        const checkpointer = new AuditCheckpointer(
          { db: core.db, clock: core.context.clock, keys: core.auditKeys },
          { rows: 1, seconds: 300, file: null },
        );
        expect((await checkpointer.runOnce()).signed).not.toBeNull();
      } finally {
        await core.close();
      }
      const keyFile = join(dir, 'checkpoint-key-2.json');
      await writeFile(keyFile, (await runCli(['audit', 'keys'], database.env)).stdout);
      const file = join(dir, 'pruned-trail.jsonl');
      expect((await runCli(['audit', 'export', '--output', file], database.env)).code).toBe(0);
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      const header = JSON.parse(lines[0] as string) as {
        anchor: { seq: number; hash: string; checkpoint: string };
        checkpoints: string[];
      };
      expect(header.anchor.seq).toBe(anchorSeq);
      expect(header.checkpoints.length).toBeGreaterThanOrEqual(2);
      expect(JSON.parse(lines[1] as string).seq).toBe(anchorSeq + 1);

      const fromDb = await runJson<VerifyJson>(['audit', 'verify'], database.env);
      expect(fromDb).toMatchObject({ ok: true, anchor: { seq: anchorSeq, refused: null } });
      const offline = await runJson<VerifyJson & { storedCheckpoints: { refused: unknown[] } }>(
        ['audit', 'verify', '--from', file, '--public-key', keyFile],
        {},
      );
      expect(offline).toMatchObject({
        ok: true,
        unanchoredStart: false,
        anchor: { seq: anchorSeq, refused: null },
        storedCheckpoints: { refused: [] },
      });
      // The anchor moved on in the file (to hide a row): its signature no longer matches.
      const moved = { ...header, anchor: { ...header.anchor, seq: anchorSeq + 1 } };
      const forgedFile = join(dir, 'pruned-trail-forged.jsonl');
      await writeFile(forgedFile, [JSON.stringify(moved), ...lines.slice(2)].join('\n'));
      const refused = await runCli(['audit', 'verify', '--from', forgedFile, '--public-key', keyFile], {});
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`pruning anchor at seq ${anchorSeq + 1} refused`);
    },
    SLOW,
  );
});

describe.runIf(process.env.DATABASE_URL)(
  'the audit chain on PostgreSQL: two instances writing at once, a dump restored',
  () => {
    it(
      'chains every audited write of both into one valid chain, with no gap and no duplicate',
      async () => {
        const [target] = cliDatabaseTargets().filter((t) => t.name === 'postgres');
        if (target === undefined) throw new Error('no PostgreSQL target');
        const database = await target.create();
        const first = await database.openCore();
        const second = await database.openCore();
        try {
          await Promise.all(
            Array.from({ length: 12 }, (_, i) => auditedWrites(i % 2 === 0 ? first : second, `race${i}`)),
          );
          const { verdict } = await first.services.auditTrail.verify();
          expect(verdict).toMatchObject({ ok: true, firstSeq: 1 });
          const rows = await first.db.selectFrom('audit_log').select(['seq']).orderBy('seq').execute();
          // Each round audits sign-up, login, rotation and logout: at least 4 rows each.
          expect(rows.length).toBeGreaterThanOrEqual(48);
          expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
          expect(verdict.lastSeq).toBe(rows.length);
        } finally {
          await first.close();
          await second.close();
          await database.drop();
        }
      },
      SLOW,
    );

    it(
      'verifies a pg_dump of the database restored into a fresh one',
      async () => {
        const url = process.env.DATABASE_URL as string;
        const [target] = cliDatabaseTargets().filter((t) => t.name === 'postgres');
        if (target === undefined) throw new Error('no PostgreSQL target');
        const database = await target.create();
        const name = `tw_restore_${randomBytes(4).toString('hex')}`;
        const restored = new URL(url);
        restored.pathname = `/${name}`;
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        const dir = await mkdtemp(join(tmpdir(), 'tw-dump-'));
        try {
          const core = await database.openCore();
          try {
            await auditedWrites(core, 'dumped');
          } finally {
            await core.close();
          }
          const schema = database.env.TOKENWARDEN_DB_SCHEMA as string;
          const file = join(dir, 'dump.sql');
          const run = promisify(execFile);
          await run('pg_dump', ['--no-owner', '--schema', schema, '--file', file, url]);
          await admin.query(`create database ${name}`);
          await run('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-f', file, restored.toString()]);
          const env = { DATABASE_URL: restored.toString(), TOKENWARDEN_DB_SCHEMA: schema };
          const verdict = await runJson<VerifyJson>(['audit', 'verify'], env);
          expect(verdict).toMatchObject({ ok: true, break: null });
          expect(verdict.rows).toBeGreaterThanOrEqual(4);
        } finally {
          await admin.query(`drop database if exists ${name} with (force)`);
          await admin.end();
          await rm(dir, { recursive: true, force: true });
          await database.drop();
        }
      },
      SLOW,
    );
  },
);
