import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR, type CliDatabase, cliDatabaseTargets, runCli } from './cli-harness.js';

// Each run opens the database in this process: PGlite takes a second or more on a loaded machine.
const SLOW = 300_000;

interface Created {
  readonly id: string;
  readonly name: string;
  readonly secret: string;
  readonly createdAt: string;
}

describe('tokenwarden clients, command line', () => {
  it(
    'lists its three subcommands in --help, and revoke takes --reason',
    async () => {
      // No database is opened for help.
      const help = await runCli(['clients', '--help'], { TOKENWARDEN_DATA_DIR: '/nonexistent/never-opened' });
      expect(help.code).toBe(0);
      for (const command of ['create', 'list', 'revoke'])
        expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
      const revoke = await runCli(['clients', 'revoke', '--help'], {});
      expect(revoke.stdout).toContain('--reason');
      expect(revoke.stdout).toContain('--json');
    },
    SLOW,
  );
});

describe.each(cliDatabaseTargets())('tokenwarden clients on $name', (target) => {
  let database: CliDatabase;
  let env: Readonly<Record<string, string>>;
  beforeAll(async () => {
    database = await target.create();
    env = database.env;
  }, 300_000);
  afterAll(async () => {
    await database?.drop();
  });

  /** After the first command (which opens the database itself), commands go through one open core. */
  const cli = () => database.shared();

  /** Whether the id and secret authenticate, through the core the commands run on. */
  const authenticates = async (id: string, secret: string) =>
    (await (await cli().core()).services.authenticateServiceClient.execute(id, secret)).ok;

  it(
    'create prints the id and secret once; the secret authenticates; list never shows it',
    async () => {
      const human = await runCli(['clients', 'create', '--name', 'orders-api'], env);
      expect(human.code).toBe(0);
      const id = /id: +([0-9a-f-]{36})/.exec(human.stdout)?.[1];
      const secret = /secret: +(twc_[A-Za-z0-9_-]{43})/.exec(human.stdout)?.[1];
      expect(human.stdout).toMatch(/^Created service client orders-api:/);
      expect(human.stderr).toContain('Store the secret now: it is not shown again.');
      if (id === undefined || secret === undefined) throw new Error(`no id or secret in ${human.stdout}`);

      const json = await cli().json<Created>(['clients', 'create', '--name', 'billing-api']);
      expect(json).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'billing-api',
        secret: expect.stringMatching(/^twc_[A-Za-z0-9_-]{43}$/),
        createdAt: expect.any(String),
      });
      expect(await authenticates(id, secret)).toBe(true);
      expect(await authenticates(json.id, json.secret)).toBe(true);
      expect(await authenticates(id, json.secret)).toBe(false);

      const list = await cli().run(['clients', 'list']);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/^ID +NAME +CREATED +CREATED BY +REVOKED +REVOKED BY/);
      expect(list.stdout).toContain(id);
      expect(list.stdout).toContain(CLI_ACTOR);
      const listJson = await cli().json<{ items: Record<string, unknown>[]; nextCursor: null }>([
        'clients',
        'list',
      ]);
      expect(listJson.items.map((c) => c.name)).toEqual(['orders-api', 'billing-api']);
      expect(Object.keys(listJson.items[0] ?? {}).sort()).toEqual([
        'createdAt',
        'createdBy',
        'id',
        'name',
        'revokedAt',
        'revokedBy',
      ]);
      for (const output of [list.stdout, JSON.stringify(listJson)]) {
        expect(output).not.toContain(secret);
        expect(output).not.toContain(json.secret);
      }

      const revoked = await cli().run(['clients', 'revoke', id, '--reason', 'moved to a new secret']);
      expect(revoked).toMatchObject({ code: 0 });
      expect(revoked.stdout).toBe(
        `Revoked service client orders-api (id ${id}): its secret no longer authenticates.\n`,
      );
      expect(await authenticates(id, secret)).toBe(false);
      expect(await authenticates(json.id, json.secret)).toBe(true);

      const again = await cli().json<{ changed: boolean; client: { revokedBy: string } }>([
        'clients',
        'revoke',
        id,
      ]);
      expect(again).toMatchObject({ changed: false, client: { revokedBy: CLI_ACTOR } });

      const audit = await cli().json<{ items: { actor: string; action: string; reason: string | null }[] }>([
        'audit',
        'list',
        '--action',
        'service_client.revoked',
      ]);
      expect(audit.items).toMatchObject([{ actor: CLI_ACTOR, reason: 'moved to a new secret' }]);
    },
    SLOW,
  );

  it(
    'refuses a bad name (exit 2), a missing name (exit 2) and an unknown client (exit 1)',
    async () => {
      for (const name of ['orders\u001b]0;owned\u0007', 'orders\u202eipa', ' ', 'n'.repeat(101)]) {
        const bad = await cli().run(['clients', 'create', '--name', name]);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(/name/);
        expect(bad.stderr).not.toContain('\u001b');
        expect(bad.stderr).not.toContain('\u202e');
      }
      const missing = await cli().run(['clients', 'create']);
      expect(missing.code).toBe(2);
      const unknown = await cli().run(['clients', 'revoke', randomUUID()]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/no service client/i);
    },
    SLOW,
  );
});
