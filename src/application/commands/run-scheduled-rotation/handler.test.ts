import { expect, it } from 'vitest';
import { describeHandler, failingAt } from '../../../../test/support/handler-context.js';
import { DAY, HOUR, rotationScheduleFixture } from '../../../../test/support/rotation-schedule-fixture.js';

describeHandler('RunScheduledRotationHandler', (suite) => {
  const { run, setSchedule, configRow, scheduled, counts } = rotationScheduleFixture(suite);

  it('never rotates while the schedule is off, however much time passes', async () => {
    await setSchedule(null);
    const config = await configRow();
    const before = await suite.writes();
    suite.clock.advance(3_650 * DAY);
    expect(await run()).toEqual({ step: 'idle', dueAt: null, nextDueAt: null, noticeWritten: false });
    expect(await configRow()).toEqual(config);
    expect(await suite.writes()).toEqual(before);
  });

  it('writes the notice lead time ahead and rotates once per period as system:schedule, audited, on the cadence', async () => {
    const start = suite.clock.now();
    const view = await setSchedule({
      interval: '1d',
      noticeLead: '2h',
      reason: 'daily compliance rotation',
      gracePeriodSeconds: 60,
    });
    const firstDue = new Date(start.getTime() + DAY * 1000);
    expect(view.rotationSchedule).toMatchObject({ intervalSeconds: DAY, nextDueAt: firstDue });
    const before = await counts();
    const version = (await configRow()).global_min_token_version;

    for (let period = 0; period < 3; period++) {
      const due = new Date(firstDue.getTime() + period * DAY * 1000);
      // Just before the notice: nothing.
      suite.clock.advance(DAY - 2 * HOUR - 1);
      expect((await run()).step).toBe('idle');
      // The notice, once.
      suite.clock.advance(1);
      expect(await run()).toMatchObject({ step: 'notice', dueAt: due, nextDueAt: due, noticeWritten: true });
      expect((await run()).step).toBe('idle');
      // The rotation, once, at the due time.
      suite.clock.advance(2 * HOUR - 1);
      expect((await run()).step).toBe('idle');
      suite.clock.advance(1);
      const rotated = await run();
      expect(rotated).toMatchObject({
        step: 'rotate',
        dueAt: due,
        nextDueAt: new Date(due.getTime() + DAY * 1000),
        noticeWritten: false,
      });
      expect(rotated.rotation).toMatchObject({ newVersion: version + period + 1, gracePeriodSeconds: 60 });
      expect((await run()).step).toBe('idle');
    }

    expect(await counts()).toEqual({
      rotations: before.rotations + 3,
      notices: before.notices + 3,
      events: before.events + 3,
    });
    const rows = await scheduled();
    const last = rows.rotations.at(-1);
    const lastDue = new Date(firstDue.getTime() + 2 * DAY * 1000);
    expect(last).toMatchObject({
      actor: 'system:schedule',
      reason: 'daily compliance rotation',
      occurredAt: lastDue,
      payload: { dueAt: lastDue.toISOString(), newVersion: version + 3, gracePeriodSeconds: 60 },
    });
    expect(rows.noticeEvents.at(-1)).toMatchObject({
      occurredAt: new Date(lastDue.getTime() - 2 * HOUR * 1000),
      payload: {
        triggeredBy: 'system:schedule',
        reason: 'daily compliance rotation',
        dueAt: lastDue.toISOString(),
        gracePeriodSeconds: 60,
        intervalSeconds: DAY,
        noticeLeadSeconds: 2 * HOUR,
        late: false,
      },
    });
    const succeeded = (await suite.events('GlobalTokenRotationSucceeded')).at(-1);
    expect(succeeded?.payload).toMatchObject({
      triggeredBy: 'system:schedule',
      dueAt: lastDue.toISOString(),
    });
    expect(await configRow()).toMatchObject({
      global_min_token_version: version + 3,
      last_rotation_reason: 'daily compliance rotation',
      grace_until: new Date(lastDue.getTime() + 60_000),
      rotation_last_due_at: lastDue,
      rotation_next_due_at: new Date(lastDue.getTime() + DAY * 1000),
    });
    // The revocation feed hears of each one, as of a manual rotation.
    const feed = await suite.db
      .selectFrom('revocation_log')
      .select('details')
      .where('kind', '=', 'global_version')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(feed.details).toMatchObject({ globalMinTokenVersion: version + 3 });
  });

  it('after missed periods rotates once (with a late notice) and keeps the cadence', async () => {
    const start = suite.clock.now();
    await setSchedule({ interval: '1d', noticeLead: '1h' });
    const before = await counts();
    const version = (await configRow()).global_min_token_version;
    // Everything was down for ten and a half days.
    suite.clock.advance(10.5 * DAY);
    const outcome = await run();
    expect(outcome).toMatchObject({
      step: 'rotate',
      dueAt: new Date(start.getTime() + DAY * 1000),
      nextDueAt: new Date(start.getTime() + 11 * DAY * 1000),
      noticeWritten: true,
    });
    expect((await run()).step).toBe('idle');
    expect(await counts()).toEqual({
      rotations: before.rotations + 1,
      notices: before.notices + 1,
      events: before.events + 1,
    });
    expect((await configRow()).global_min_token_version).toBe(version + 1);
    expect((await scheduled()).noticeEvents.at(-1)?.payload).toMatchObject({ late: true });
    // The default reason, and the configured default grace (none set on the schedule).
    const config = await configRow();
    expect((await scheduled()).rotations.at(-1)).toMatchObject({
      reason: 'scheduled periodic rotation',
      payload: { gracePeriodSeconds: config.grace_period_seconds },
    });
  });

  it('a failed rotation is recorded, leaves the due time owed, and the next run rotates', async () => {
    await setSchedule({ interval: '1d', noticeLead: '0' });
    suite.clock.advance(DAY);
    const before = await counts();
    const failure = new Error('connection lost mid-rotation');
    await expect(run(failingAt(suite.ctx, 'securityConfig', 'rotateGlobal', failure))).rejects.toBe(failure);
    expect(await counts()).toEqual(before);
    expect((await suite.audit('token_rotation.global_failed', null)).at(-1)).toMatchObject({
      actor: 'system:schedule',
      payload: { error: 'connection lost mid-rotation' },
    });
    expect((await run()).step).toBe('rotate');
    expect(await counts()).toEqual({
      rotations: before.rotations + 1,
      notices: before.notices + 1,
      events: before.events + 1,
    });
  });
});
