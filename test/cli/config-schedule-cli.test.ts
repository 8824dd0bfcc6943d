import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR, type CliDatabase, cliDatabaseTargets, runCli, runJson } from './cli-harness.js';

// Each run opens the database in this process: PGlite takes a second or more on a loaded machine.
const SLOW = 60_000;

interface Config {
  readonly rotationSchedule: {
    readonly interval: string;
    readonly intervalSeconds: number;
    readonly gracePeriodSeconds: number | null;
    readonly reason: string;
    readonly noticeLeadSeconds: number;
    readonly nextDueAt: string;
    readonly noticeAt: string;
  } | null;
}

describe('tokenwarden config set --rotation-*, command line', () => {
  const env = { TOKENWARDEN_DATA_DIR: '/nonexistent/never-opened' };
  it.each([
    { args: ['config', 'set'], message: /nothing to change/ },
    { args: ['config', 'set', '--rotation-every', 'abc'], message: /must be a duration such as 90d/ },
    { args: ['config', 'set', '--rotation-every', '-1d'], message: /must be a duration such as 90d/ },
    { args: ['config', 'set', '--rotation-every', 'ab\u0007c'], message: /must be a duration/ },
    { args: ['config', 'set', '--rotation-notice', '1.5h'], message: /must be a duration/ },
    { args: ['config', 'set', '--rotation-grace', '86401'], message: /expected an integer from 0 to 86400/ },
    {
      args: ['config', 'set', '--rotation-off', '--rotation-every', '1d'],
      message: /--rotation-off cannot be combined/,
    },
  ])(
    'exits 2 with one line before opening any database: $args',
    async ({ args, message }) => {
      const result = await runCli(args, env);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    },
    SLOW,
  );
});

describe.each(cliDatabaseTargets())('tokenwarden config and the rotation schedule on $name', (target) => {
  let database: CliDatabase;
  let env: Readonly<Record<string, string>>;
  beforeAll(async () => {
    database = await target.create();
    env = database.env;
  });
  afterAll(async () => {
    await database?.drop();
  });

  it(
    'config set --rotation-every turns it on (audited as cli:<os user>); config get shows the next due time; --rotation-off ends it',
    async () => {
      const before = Date.now();
      const set = await runJson<Config>(
        [
          'config',
          'set',
          '--rotation-every',
          '90d',
          '--rotation-grace',
          '600',
          '--rotation-reason',
          'quarterly policy',
        ],
        env,
      );
      const due = Date.parse(set.rotationSchedule?.nextDueAt ?? '');
      expect(due).toBeGreaterThanOrEqual(before + 90 * 86_400_000);
      expect(due).toBeLessThan(Date.now() + 90 * 86_400_000);
      expect(set.rotationSchedule).toMatchObject({
        interval: '90d',
        gracePeriodSeconds: 600,
        reason: 'quarterly policy',
        noticeLeadSeconds: 7 * 86_400,
        noticeAt: new Date(due - 7 * 86_400_000).toISOString(),
      });

      const human = await runCli(['config', 'get'], env);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/rotation schedule: +every 90d/);
      expect(human.stdout).toContain(`next rotation due: ${new Date(due).toISOString()}`);

      const reason = await runJson<Config>(
        ['config', 'set', '--rotation-reason', 'new wording', '--rotation-grace', 'default'],
        env,
      );
      expect(reason.rotationSchedule).toMatchObject({
        nextDueAt: set.rotationSchedule?.nextDueAt,
        gracePeriodSeconds: null,
      });

      const off = await runJson<Config>(['config', 'set', '--rotation-off'], env);
      expect(off.rotationSchedule).toBeNull();
      const core = await database.openCore();
      try {
        const audit = await core.db
          .selectFrom('audit_log')
          .select(['actor', 'details'])
          .where('action', '=', 'security_config.updated')
          .orderBy('id')
          .execute();
        expect(audit.map((row) => row.actor)).toEqual([CLI_ACTOR, CLI_ACTOR, CLI_ACTOR]);
        expect(audit.at(-1)?.details).toMatchObject({ rotationSchedule: { to: null } });
      } finally {
        await core.close();
      }
    },
    // Four CLI runs; a loaded machine takes minutes for each.
    15 * SLOW,
  );
});
