import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { RunScheduledRotation } from '../../src/application/commands/run-scheduled-rotation/command.js';
import {
  RunScheduledRotationHandler,
  type ScheduledRotationOutcome,
} from '../../src/application/commands/run-scheduled-rotation/handler.js';
import { UpdateSecurityConfig } from '../../src/application/commands/update-security-config/command.js';
import { UpdateSecurityConfigHandler } from '../../src/application/commands/update-security-config/handler.js';
import { type Core, createCore } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/infrastructure/database/create-database.js';
import { describeHandler, type HandlerSuite } from '../support/handler-context.js';
import { TEST_ENV } from '../support/test-app.js';

const DAY = 86_400;
const HOUR = 3_600;

const configRow = (suite: HandlerSuite) =>
  suite.db.selectFrom('security_config').selectAll().executeTakeFirstOrThrow();

/** The scheduled rotations (audit rows by `system:schedule`) and their notices, oldest first. */
const scheduled = async (suite: HandlerSuite) => ({
  rotations: (await suite.audit('token_rotation.global', null)).filter((r) => r.actor === 'system:schedule'),
  notices: await suite.audit('token_rotation.scheduled', null),
  noticeEvents: await suite.events('GlobalTokenRotationScheduled'),
});

describeHandler('scheduled rotation across instances and restarts', (suite) => {
  const run = async (ctx = suite.ctx): Promise<ScheduledRotationOutcome> => {
    const result = await new RunScheduledRotationHandler(ctx).handle(RunScheduledRotation());
    if (!result.ok) throw result.error;
    return result.value;
  };
  const setSchedule = async (
    rotationSchedule: Parameters<typeof UpdateSecurityConfig>[0]['rotationSchedule'],
  ) => {
    const result = await new UpdateSecurityConfigHandler(suite.ctx).handle(
      UpdateSecurityConfig({ actor: 'cli:ops', rotationSchedule }),
    );
    if (!result.ok) throw result.error;
    return result.value;
  };
  const counts = async () => {
    const rows = await scheduled(suite);
    return {
      rotations: rows.rotations.length,
      notices: rows.notices.length,
      events: rows.noticeEvents.length,
    };
  };

  // The suite shares one security config: every test starts from its own schedule and leaves it off.
  afterEach(async () => {
    await setSchedule(null);
  });

  it('a restart between the rotation and the next due time does not rotate again', async () => {
    await setSchedule({ interval: '12h' });
    suite.clock.advance(12 * HOUR);
    expect((await run()).step).toBe('rotate');
    const after = await counts();
    const config = await configRow(suite);

    // A new process: a new core over the same database, the clock where it was.
    const restarted = await createCore(loadConfig({ ...TEST_ENV, LOG_LEVEL: 'silent' }), {
      clock: suite.clock,
      database: { db: suite.db, close: async () => {} },
      defaultMetrics: false,
    });
    try {
      expect((await run(restarted.context)).step).toBe('idle');
      suite.clock.advance(HOUR);
      expect((await run(restarted.context)).step).toBe('idle');
    } finally {
      await restarted.close();
    }
    expect(await counts()).toEqual(after);
    expect((await configRow(suite)).global_min_token_version).toBe(config.global_min_token_version);
  });

  it('the database refuses a second scheduled rotation audited for the same due time', async () => {
    await setSchedule({ interval: '1d' });
    suite.clock.advance(DAY);
    const outcome = await run();
    const dueAt = outcome.dueAt?.toISOString();
    await expect(
      suite.db
        .insertInto('audit_log')
        .values({
          occurred_at: suite.clock.now(),
          actor: 'system:schedule',
          action: 'token_rotation.global',
          user_id: null,
          reason: 'again',
          details: sql`${JSON.stringify({ dueAt })}::jsonb`,
        })
        .execute(),
    ).rejects.toThrow(/audit_log_schedule_once_idx|duplicate key/);
  });

  describe2Instances(suite, run, setSchedule, counts);
});

/**
 * Two instances (two cores, each with its own connections on PostgreSQL) asking at
 * the same due time, many times over: one notice and one rotation per due time.
 */
function describe2Instances(
  suite: HandlerSuite,
  run: (ctx?: HandlerSuite['ctx']) => Promise<ScheduledRotationOutcome>,
  setSchedule: (s: { interval: string; noticeLead?: string }) => Promise<unknown>,
  counts: () => Promise<{ rotations: number; notices: number; events: number }>,
): void {
  let other: Core | undefined;
  let closeOther: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    let database = { db: suite.db, close: async () => {} };
    const url = process.env.DATABASE_URL;
    if (suite.database === 'postgres' && url !== undefined) {
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(suite.db);
      const handle = await createDatabase({ kind: 'postgres', url, schema: rows[0]?.schema, poolSize: 5 });
      database = { db: handle.db, close: () => handle.close() };
      closeOther = () => handle.close();
    }
    other = await createCore(loadConfig({ ...TEST_ENV, LOG_LEVEL: 'silent' }), {
      clock: suite.clock,
      database,
      defaultMetrics: false,
    });
  });
  afterAll(async () => {
    await other?.close();
    await closeOther?.();
  });

  it('two instances racing at each due time: exactly one notice and one rotation per due time', async () => {
    if (other === undefined) throw new Error('the second instance did not start');
    const second = other.context;
    await setSchedule({ interval: '1d', noticeLead: '1h' });
    const before = await counts();
    const version = (await configRow(suite)).global_min_token_version;
    const race = async () => {
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, (_, i) => run(i % 2 === 0 ? suite.ctx : second)),
      );
      return outcomes.map((o) => o.step).filter((step) => step !== 'idle');
    };
    for (let period = 0; period < 3; period++) {
      suite.clock.advance(DAY - HOUR);
      expect(await race()).toEqual(['notice']);
      suite.clock.advance(HOUR);
      expect(await race()).toEqual(['rotate']);
    }
    expect(await counts()).toEqual({
      rotations: before.rotations + 3,
      notices: before.notices + 3,
      events: before.events + 3,
    });
    expect((await configRow(suite)).global_min_token_version).toBe(version + 3);
  });
}
