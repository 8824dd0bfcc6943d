import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Core, createCore } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { KyselyAuditRepository } from '../../src/infrastructure/database/repositories/kysely-audit-repository.js';
import { samePostgresSchema } from '../support/databases.js';
import { describeHandler, type HandlerSuite } from '../support/handler-context.js';
import {
  DAY,
  HOUR,
  type RotationScheduleFixture,
  rotationScheduleFixture,
} from '../support/rotation-schedule-fixture.js';
import { TEST_ENV } from '../support/test-app.js';

describeHandler('scheduled rotation across instances and restarts', (suite) => {
  const fixture = rotationScheduleFixture(suite);
  const { run, setSchedule, configRow, counts } = fixture;

  it('a restart between the rotation and the next due time does not rotate again', async () => {
    await setSchedule({ interval: '12h' });
    suite.clock.advance(12 * HOUR);
    expect((await run()).step).toBe('rotate');
    const after = await counts();
    const config = await configRow();

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
    expect((await configRow()).global_min_token_version).toBe(config.global_min_token_version);
  });

  it('the database refuses a second scheduled rotation audited for the same due time', async () => {
    await setSchedule({ interval: '1d' });
    suite.clock.advance(DAY);
    const outcome = await run();
    const dueAt = outcome.dueAt?.toISOString();
    await expect(
      new KyselyAuditRepository(suite.db).append({
        occurredAt: suite.clock.now(),
        actor: 'system:schedule',
        action: 'token_rotation.global',
        userId: null,
        reason: 'again',
        details: { dueAt },
      }),
    ).rejects.toThrow(/audit_log_schedule_once_idx|duplicate key/);
  });

  describe2Instances(suite, fixture);
});

/**
 * Two instances (two cores, each with its own connections on PostgreSQL) asking at
 * the same due time, many times over: one notice and one rotation per due time.
 */
function describe2Instances(
  suite: HandlerSuite,
  { run, setSchedule, configRow, counts }: RotationScheduleFixture,
): void {
  let other: Core | undefined;
  let closeOther: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    let database = { db: suite.db, close: async () => {} };
    const url = process.env.DATABASE_URL;
    if (suite.database === 'postgres' && url !== undefined) {
      const handle = await samePostgresSchema(suite.db, 5);
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
    const version = (await configRow()).global_min_token_version;
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
    expect((await configRow()).global_min_token_version).toBe(version + 3);
  });
}
