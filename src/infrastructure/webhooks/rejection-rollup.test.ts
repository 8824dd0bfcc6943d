import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test/support/databases.js';
import { ManualClock } from '../../../test/support/manual-clock.js';
import { RandomTokenGenerator } from '../crypto/random-token-generator.js';
import { KyselyUnitOfWork } from '../database/repositories/kysely-unit-of-work.js';
import { RejectionRollup } from './rejection-rollup.js';

describeEachDatabase('rejection rollup', (suite) => {
  const rollupEvents = () =>
    suite.db
      .selectFrom('outbox')
      .selectAll()
      .where('event_type', '=', 'TokenRejectedDueToRotation')
      .orderBy('occurred_at')
      .execute();

  it('writes one event for many rejections, with counts by kind and distinct users', async () => {
    const clock = new ManualClock(new Date('2026-03-01T10:00:00.000Z'));
    const rollup = new RejectionRollup({
      uow: new KyselyUnitOfWork(suite.db),
      clock,
      ids: new RandomTokenGenerator(),
    });
    const users = [randomUUID(), randomUUID(), randomUUID()];
    for (let i = 0; i < 1_000; i++) {
      rollup.record({ tokenKind: 'refresh', rejection: 'global_rotation', userId: users[i % 3]! });
    }
    for (let i = 0; i < 40; i++)
      rollup.record({ tokenKind: 'access', rejection: 'global_rotation', userId: users[0]! });
    for (let i = 0; i < 7; i++)
      rollup.record({ tokenKind: 'access', rejection: 'user_rotation', userId: users[1]! });
    expect(await rollupEvents()).toHaveLength(0);

    clock.advance(60);
    expect(await rollup.flush()).toBe(true);
    const events = await rollupEvents();
    expect(events).toHaveLength(1);
    expect(events[0]!.occurred_at.toISOString()).toBe('2026-03-01T10:01:00.000Z');
    expect(events[0]!.payload).toMatchObject({
      windowStart: '2026-03-01T10:00:00.000Z',
      windowEnd: '2026-03-01T10:01:00.000Z',
      total: 1_047,
      byRejection: { global_rotation: 1_040, user_rotation: 7 },
      byTokenKind: { refresh: 1_000, access: 47 },
      distinctUsers: 3,
      distinctUsersCapped: false,
    });
    expect(events[0]!.payload.counts).toEqual(
      expect.arrayContaining([
        { rejection: 'global_rotation', tokenKind: 'refresh', count: 1_000 },
        { rejection: 'global_rotation', tokenKind: 'access', count: 40 },
        { rejection: 'user_rotation', tokenKind: 'access', count: 7 },
      ]),
    );
    expect([...(events[0]!.payload.userIds as string[])].sort()).toEqual([...users].sort());

    // A quiet window writes nothing; the next busy one starts where the last ended.
    clock.advance(60);
    expect(await rollup.flush()).toBe(false);
    rollup.record({ tokenKind: 'refresh', rejection: 'user_rotation', userId: users[2]! });
    clock.advance(30);
    await rollup.close();
    const after = await rollupEvents();
    expect(after).toHaveLength(2);
    expect(after[1]!.payload).toMatchObject({
      windowStart: '2026-03-01T10:02:00.000Z',
      windowEnd: '2026-03-01T10:02:30.000Z',
      total: 1,
    });
  });

  it('keeps the counts for the next flush when the write fails', async () => {
    const clock = new ManualClock();
    let fail = true;
    const real = new KyselyUnitOfWork(suite.db);
    const rollup = new RejectionRollup({
      uow: {
        run: (work) => (fail ? Promise.reject(new Error('database down')) : real.run(work)),
        read: (work) => real.read(work),
        statement: (work) => real.statement(work),
      },
      clock,
      ids: new RandomTokenGenerator(),
    });
    const userId = randomUUID();
    rollup.record({ tokenKind: 'refresh', rejection: 'global_rotation', userId });
    await expect(rollup.flush()).rejects.toThrow('database down');
    rollup.record({ tokenKind: 'refresh', rejection: 'global_rotation', userId });
    fail = false;
    expect(await rollup.flush()).toBe(true);
    const events = await rollupEvents();
    const mine = events.filter((e) => (e.payload.userIds as string[]).includes(userId));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.payload).toMatchObject({ total: 2, distinctUsers: 1 });
  });
});
