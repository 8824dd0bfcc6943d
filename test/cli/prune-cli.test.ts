import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateSession } from '../../src/application/commands/create-session/command.js';
import { RegisterUser } from '../../src/application/commands/register-user/command.js';
import { createCore } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { ManualClock } from '../support/manual-clock.js';
import { TEST_ENV, USER_PASSWORD } from '../support/test-app.js';
import { CLI_ACTOR, type CliDatabase, cliDatabaseTargets, runCli, runJson } from './cli-harness.js';

// Each run opens the database in this process: PGlite takes a second or more on a loaded machine.
const SLOW = 240_000;

interface PruneJson {
  readonly dryRun: boolean;
  readonly counts: Record<string, number>;
  readonly total: number;
}

describe.each(cliDatabaseTargets())('tokenwarden prune on $name', (target) => {
  let database: CliDatabase;
  beforeAll(async () => {
    database = await target.create();
    // A login 60 days ago, under a clock set back: its token and session are long expired.
    const config = loadConfig({ ...TEST_ENV, ...database.env, LOG_LEVEL: 'silent' });
    const core = await createCore(config, {
      clock: new ManualClock(new Date(Date.now() - 60 * 86_400_000)),
      defaultMetrics: false,
    });
    try {
      const email = 'old-login@example.com';
      const registered = await core.services.registerUser.handle(
        RegisterUser({ email, password: USER_PASSWORD, role: 'user', actor: CLI_ACTOR }),
      );
      if (!registered.ok) throw registered.error;
      const login = await core.services.createSession.handle(
        CreateSession({ email, password: USER_PASSWORD, userAgent: null, ip: null }),
      );
      if (!login.ok) throw login.error;
    } finally {
      await core.close();
    }
  }, SLOW);
  afterAll(async () => {
    await database?.drop();
  });

  it(
    '--dry-run counts per table and deletes nothing; then prune deletes those rows; exit 0',
    async () => {
      const dry = await runJson<PruneJson>(['prune', '--dry-run'], database.env);
      expect(dry.dryRun).toBe(true);
      expect(dry.counts).toMatchObject({ refresh_tokens: 1, sessions: 1, audit_log: 0 });
      expect(Object.keys(dry.counts)).toEqual([
        'refresh_tokens',
        'sessions',
        'webhook_deliveries',
        'outbox',
        'audit_log',
        'revocation_log',
      ]);

      const text = await runCli(['prune'], database.env);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^Pruned \d+ rows in \d+ ms:/);
      expect(text.stdout).toMatch(/refresh_tokens:\s+1$/m);
      expect(text.stdout).toMatch(/sessions:\s+1$/m);

      const core = await database.openCore();
      try {
        expect(await core.db.selectFrom('sessions').select('id').execute()).toEqual([]);
        expect(await core.db.selectFrom('refresh_tokens').select('id').execute()).toEqual([]);
      } finally {
        await core.close();
      }
    },
    SLOW,
  );

  it(
    'refuses an unknown option with exit 2',
    async () => {
      const result = await runCli(['prune', '--dryrun'], database.env);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/unknown option '--dryrun'/);
    },
    SLOW,
  );
});
