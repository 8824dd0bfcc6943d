import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateSession } from '../../src/application/commands/create-session/command.js';
import { RegisterUser } from '../../src/application/commands/register-user/command.js';
import { MIGRATIONS } from '../../src/infrastructure/database/migrator.js';
import { lockDataDir } from '../../src/infrastructure/database/pglite-lock.js';
import { KyselyAuditRepository } from '../../src/infrastructure/database/repositories/kysely-audit-repository.js';
import { copyPGliteTemplateDirectory } from '../support/databases.js';
import { USER_PASSWORD } from '../support/test-app.js';
import {
  CLI_ACTOR,
  type CliDatabase,
  cliDatabaseTargets,
  runCli,
  runCliProcess,
  runJson,
} from './cli-harness.js';

// Most commands open the database (PGlite: seconds on a loaded two-core machine); the few
// runs in a process of their own start node and tsx too.
const SLOW = 300_000;

describe('tokenwarden CLI, command line handling', () => {
  let root: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tokenwarden-cli-usage-'));
    // Never opened: every case here fails or finishes before the database.
    env = { TOKENWARDEN_DATA_DIR: join(root, 'never-created') };
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it(
    'prints help for the program and for each command',
    async () => {
      const top = await runCli(['--help'], env);
      expect(top.code).toBe(0);
      for (const command of [
        'serve',
        'migrate',
        'rotate',
        'config',
        'audit',
        'users',
        'sessions',
        'keys',
        'webhooks',
      ]) {
        expect(top.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
      }
      const rotate = await runCli(['rotate', 'global', '--help'], env);
      expect(rotate.code).toBe(0);
      for (const option of ['--reason', '--grace', '--dry-run', '--rotate-signing-key', '--json']) {
        expect(rotate.stdout).toContain(option);
      }
    },
    SLOW,
  );

  it(
    // One run of the executable per exit code it documents: 0 here, 2 for a data directory
    // another process holds and 1 for an unknown user below; run() decides the rest in-process.
    'the executable exits with what run() returns: 0 for --help',
    async () => {
      const help = await runCliProcess(['--help'], env);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^Usage: tokenwarden /);
    },
    SLOW,
  );

  it.each([
    { args: ['rotate', 'global'], message: /required option '--reason <text>' not specified/ },
    { args: ['config', 'set', '--grace', '86401'], message: /expected an integer from 0 to 86400/ },
    { args: ['audit', 'list', '--since', 'yesterday'], message: /expected an ISO-8601 date/ },
    { args: ['rotate', 'everything'], message: /unknown command 'everything'/ },
    { args: ['users', 'create', '--email', 'a@example.com'], message: /no password on stdin/ },
    {
      args: ['users', 'promote', 'a@example.com'],
      message: /required option '--reason <text>' not specified/,
    },
  ])(
    'exits 2 with one line on bad input: $args',
    async ({ args, message }) => {
      const result = await runCli(args, env);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/^tokenwarden: [^\n]+\n$/);
    },
    SLOW,
  );
});

describe('tokenwarden CLI and a running server on PGlite', () => {
  it(
    'refuses a data directory another process holds, instead of corrupting it',
    async () => {
      const root = await mkdtemp(join(tmpdir(), 'tokenwarden-cli-held-'));
      const dataDir = join(root, 'data');
      await copyPGliteTemplateDirectory(dataDir);
      // This process stands in for the server: it holds the lock createDatabase takes.
      const release = await lockDataDir(dataDir);
      try {
        // Another process, really: in this one the lock would be refused as held by ourselves.
        const result = await runCliProcess(['config', 'get'], { TOKENWARDEN_DATA_DIR: dataDir });
        // An environment problem, as docs/CLI.md's exit codes say.
        expect(result.code).toBe(2);
        expect(result.stdout).toBe('');
        expect(result.stderr).toMatch(
          new RegExp(`is in use by process ${process.pid} \\(a running server\\?\\)`),
        );
      } finally {
        await release();
        await rm(root, { recursive: true, force: true });
      }
    },
    SLOW,
  );
});

describe.each(cliDatabaseTargets())('tokenwarden CLI on $name', (target) => {
  let database: CliDatabase;
  let env: Readonly<Record<string, string>>;
  beforeAll(async () => {
    database = await target.create({ initialised: false });
    env = database.env;
  }, SLOW);
  afterAll(async () => {
    await database?.drop();
  });
  /**
   * From `config get` on, commands go through one open core; those before open the database
   * themselves (the direct path, and the executable's own exit code on PGlite).
   */
  const cli = () => database.shared();

  const alice = 'alice.cli@example.com';
  let aliceId: string;
  const sessionIds: string[] = [];

  it(
    'migrate creates the schema and says what it applied',
    async () => {
      const result = await runJson<{ applied: string[]; database: string }>(['migrate'], env);
      expect(result).toEqual({
        database: target.name,
        applied: Object.keys(MIGRATIONS),
        latest: Object.keys(MIGRATIONS).at(-1),
      });
    },
    SLOW,
  );

  it(
    'a dry-run global rotation changes nothing; a real one increments the version, audited as cli:<os user>',
    async () => {
      const human = await runCli(['rotate', 'global', '--reason', 'db leak', '--dry-run'], env);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^Dry run: nothing was changed/);
      expect(human.stdout).toMatch(/version: +1 -> 2/);

      // config set answers with the whole config: the version is still 1.
      const config = await runJson(['config', 'set', '--grace', '0'], env);
      expect(config).toMatchObject({ globalMinTokenVersion: 1, gracePeriodSeconds: 0, lastRotationAt: null });

      const rotated = await runJson(['rotate', 'global', '--reason', '  db leak  '], env);
      expect(rotated).toMatchObject({ previousVersion: 1, newVersion: 2, gracePeriodSeconds: 0 });
      expect(rotated.graceUntil).toBe(rotated.rotatedAt);

      const audit = await runJson<{ items: Record<string, unknown>[] }>(
        ['audit', 'list', '--action', 'token_rotation.global'],
        env,
      );
      expect(audit.items).toHaveLength(1);
      expect(audit.items[0]).toMatchObject({
        actor: CLI_ACTOR,
        action: 'token_rotation.global',
        reason: 'db leak',
        details: { previousVersion: 1, newVersion: 2, gracePeriodSeconds: 0 },
      });
    },
    SLOW,
  );

  it(
    'users create reads the password from stdin, and the user can log in',
    async () => {
      const created = await runJson<{ id: string; email: string; role: string }>(
        ['users', 'create', '--email', 'Alice.CLI@example.com'],
        env,
        `${USER_PASSWORD}\nnot the password\n`,
      );
      expect(created).toMatchObject({ email: alice, role: 'user' });
      aliceId = created.id;

      const core = await database.openCore();
      try {
        for (const userAgent of ['laptop', 'phone']) {
          const login = await core.services.createSession.handle(
            CreateSession({ email: alice, password: USER_PASSWORD, userAgent, ip: '192.0.2.1' }),
          );
          if (!login.ok) throw login.error;
          sessionIds.push(login.value.sessionId);
        }
      } finally {
        await core.close();
      }
    },
    SLOW,
  );

  it(
    "sessions list shows a user's sessions and sessions revoke ends one",
    async () => {
      const listed = await runJson<{ userId: string; items: { id: string; userAgent: string }[] }>(
        ['sessions', 'list', aliceId],
        env,
      );
      expect(listed.userId).toBe(aliceId);
      expect(listed.items.map((s) => s.id).sort()).toEqual([...sessionIds].sort());
      // --limit pages; --cursor goes on from the page before, each session once.
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: { id: string }[]; nextCursor: string | null } = await runJson(
          ['sessions', 'list', aliceId, '--limit', '1', ...(cursor === null ? [] : ['--cursor', cursor])],
          env,
        );
        expect(page.items).toHaveLength(1);
        paged.push(...page.items.map((s) => s.id));
        cursor = page.nextCursor;
      } while (cursor !== null && paged.length <= sessionIds.length);
      expect(paged.sort()).toEqual([...sessionIds].sort());

      const revoked = await runJson(['sessions', 'revoke', sessionIds[0] as string], env);
      expect(revoked).toMatchObject({ sessionId: sessionIds[0], revokedTokens: 1 });
    },
    SLOW,
  );

  it(
    'rotate user takes an email, and an unknown user exits 1',
    async () => {
      const rotated = await runJson(['rotate', 'user', alice.toUpperCase(), '--reason', 'phished'], env);
      expect(rotated).toMatchObject({ userId: aliceId, email: alice, previousVersion: 1, newVersion: 2 });

      // On PGlite, the executable's own exit code for a failure, after opening and closing the database.
      const missing = await (target.name === 'pglite' ? runCliProcess : runCli)(
        ['rotate', 'user', 'nobody@example.com', '--reason', 'x'],
        env,
      );
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/no user with id or email "nobody@example.com" \(user_not_found\)/);
    },
    SLOW,
  );

  it(
    'config get shows the version and grace period',
    async () => {
      const config = await cli().json(['config', 'get']);
      expect(config).toMatchObject({
        globalMinTokenVersion: 2,
        gracePeriodSeconds: 0,
        lastRotationReason: 'db leak',
      });
    },
    SLOW,
  );

  it(
    "users disable refuses the user's tokens and login, and is in the audit log",
    async () => {
      const disabled = await cli().json(['users', 'disable', alice, '--reason', 'account compromised']);
      expect(disabled).toMatchObject({ userId: aliceId, changed: true });
      const users = await cli().json<{ items: { email: string; disabledAt: string | null }[] }>([
        'users',
        'list',
        '--email',
        'alice.cli',
      ]);
      expect(users.items).toEqual([
        expect.objectContaining({ email: alice, disabledAt: expect.any(String) }),
      ]);

      const core = await cli().core();
      const login = await core.services.createSession.handle(
        CreateSession({ email: alice, password: USER_PASSWORD, userAgent: null, ip: null }),
      );
      expect(login).toMatchObject({ ok: false, error: { code: 'invalid_credentials' } });

      const audit = await cli().json<{ items: { action: string; actor: string }[] }>([
        'audit',
        'list',
        '--user',
        alice,
        '--limit',
        '10',
      ]);
      expect(audit.items.map((e) => e.action)).toEqual([
        'user.disabled',
        'token_rotation.user',
        'session.revoked',
        'session.created',
        'session.created',
        'user.registered',
      ]);
      expect(
        audit.items.filter((e) => e.action !== 'session.created').every((e) => e.actor === CLI_ACTOR),
      ).toBe(true);
      // The user by email, as the console shows it (the id stays in userId); a user actor too.
      const withEmails = audit.items as unknown as {
        userEmail: string | null;
        actorEmail: string | null;
        action: string;
      }[];
      expect(withEmails.every((e) => e.userEmail === alice)).toBe(true);
      expect(withEmails.find((e) => e.action === 'session.created')?.actorEmail).toBe(alice);
      expect(withEmails.find((e) => e.action === 'user.disabled')?.actorEmail).toBeNull();
      const human = await cli().run(['audit', 'list', '--user', alice, '--action', 'user.disabled']);
      expect(human.stdout.split('\n')[1]).toMatch(
        new RegExp(
          `${CLI_ACTOR.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+user\\.disabled\\s+${alice.replace(/\./g, '\\.')}\\s`,
        ),
      );
    },
    SLOW,
  );

  it(
    'users promote makes an account admin with a reason, audited as cli:<os user>; a blank reason exits 2',
    async () => {
      const bob = 'bob.cli@example.com';
      const created = await cli().json<{ id: string }>(
        ['users', 'create', '--email', bob],
        `${USER_PASSWORD}\n`,
      );
      const blank = await cli().run(['users', 'promote', bob, '--reason', '   ']);
      expect(blank.code).toBe(2);
      expect(blank.stderr).toMatch(/reason must not be empty/);

      const human = await cli().run(['users', 'promote', bob, '--reason', 'new on-call admin']);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^Promoted bob\.cli@example\.com \(id [0-9a-f-]+\) to admin/);
      const again = await cli().json(['users', 'promote', created.id, '--reason', 'again']);
      expect(again).toMatchObject({ userId: created.id, email: bob, role: 'admin', changed: false });

      const audit = await cli().json<{ items: { action: string; actor: string; reason: string }[] }>([
        'audit',
        'list',
        '--user',
        bob,
        '--action',
        'user.promoted',
      ]);
      expect(audit.items).toEqual([
        expect.objectContaining({ action: 'user.promoted', actor: CLI_ACTOR, reason: 'new on-call admin' }),
      ]);
      const missing = await cli().run(['users', 'promote', 'nobody@example.com', '--reason', 'x']);
      expect(missing.code).toBe(1);
    },
    SLOW,
  );

  it(
    'audit list, users list and sessions list print stored control characters escaped, never raw',
    async () => {
      // Rows as they could be written before reasons, emails and user agents refused such characters.
      const at = new Date();
      const evil = 'old\u001b]0;owned\u0007\n2026-01-01T00:00:00.000Z  cli:root  forged\r\u202eevil\u009b2J';
      const email = 'esc\u001b[2j\u200b@example.com';
      const userId = crypto.randomUUID();
      const core = await cli().core();
      await core.db
        .insertInto('users')
        .values({ id: userId, email, password_hash: 'x', role: 'user', created_at: at, updated_at: at })
        .execute();
      await new KyselyAuditRepository(core.db).append({
        occurredAt: at,
        actor: userId,
        action: 'token_rotation.user',
        userId,
        reason: evil,
        details: {},
      });
      const owner = 'old.rows@example.com';
      const registered = await core.services.registerUser.handle(
        RegisterUser({ email: owner, password: USER_PASSWORD, role: 'user', actor: CLI_ACTOR }),
      );
      if (!registered.ok) throw registered.error;
      const login = await core.services.createSession.handle(
        CreateSession({ email: owner, password: USER_PASSWORD, userAgent: evil, ip: null }),
      );
      if (!login.ok) throw login.error;
      const outputs = [
        await cli().run(['audit', 'list', '--limit', '100']),
        await cli().run(['users', 'list', '--limit', '100']),
        await cli().run(['sessions', 'list', 'old.rows@example.com']),
        await cli().run(['audit', 'list', '--limit', '100', '--json']),
      ];
      for (const { code, stdout, stderr } of outputs) {
        expect(code, stderr).toBe(0);
        // No control or format character but the line breaks the output itself makes.
        expect(stdout).not.toMatch(/(?!\n)[\p{Cc}\p{Cf}]/u);
      }
      const [audit, users, sessions, json] = outputs.map((o) => o.stdout) as [string, string, string, string];
      expect(audit).toContain(
        'old\\u001b]0;owned\\u0007\\n2026-01-01T00:00:00.000Z  cli:root  forged\\r\\u202eevil\\u009b2J',
      );
      expect(audit).not.toMatch(/^2026-01-01T00:00:00\.000Z {2}cli:root/m); // the forged row never starts a line
      expect(users).toContain('esc\\u001b[2j\\u200b@example.com');
      expect(sessions).toContain('\\u202eevil');
      expect((JSON.parse(json) as { items: { reason: string }[] }).items.map((e) => e.reason)).toContain(
        evil,
      );
    },
    SLOW,
  );

  it(
    'keys list shows the active signing key',
    async () => {
      const keys = await cli().json<{ items: { kid: string; status: string }[] }>(['keys', 'list']);
      expect(keys.items.filter((k) => k.status === 'active')).toHaveLength(1);
    },
    SLOW,
  );
});
