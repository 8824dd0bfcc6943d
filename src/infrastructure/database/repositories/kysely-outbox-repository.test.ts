import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test/support/databases.js';
import { KyselyOutboxRepository, rejectionsByIntervalQuery } from './kysely-outbox-repository.js';

describeEachDatabase('KyselyOutboxRepository', (suite) => {
  it('appends an event due for publishing at once, with its JSON payload', async () => {
    const id = randomUUID();
    const occurredAt = new Date('2030-01-01T00:00:00.000Z');
    const payload = { previousVersion: 1, newVersion: 2, triggeredBy: 'cli:root', graceUntil: null };
    await new KyselyOutboxRepository(suite.db).append({
      id,
      type: 'GlobalTokenRotationSucceeded',
      occurredAt,
      payload,
    });
    const row = await suite.db
      .selectFrom('outbox')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      id,
      event_type: 'GlobalTokenRotationSucceeded',
      payload,
      occurred_at: occurredAt,
      published_at: null,
      attempts: 0,
      next_attempt_at: occurredAt,
      last_error: null,
      dead_at: null,
    });
  });

  it('refuses an event id twice (the id is the idempotency key)', async () => {
    const event = { id: randomUUID(), type: 'X', occurredAt: new Date(), payload: {} };
    const outbox = new KyselyOutboxRepository(suite.db);
    await outbox.append(event);
    await expect(outbox.append(event)).rejects.toMatchObject({ code: '23505' });
  });

  it('reads the rejection roll-ups of a window through their index, not by scanning the outbox', async () => {
    const database = await suite.create();
    try {
      const db = database.db;
      // 100 days of other events (one every 7 minutes) and a roll-up every 12 hours:
      // enough rows that the planner prefers the index on its own.
      const start = new Date('2031-01-01T00:00:00.000Z');
      await sql`insert into outbox (id, event_type, payload, occurred_at, next_attempt_at)
        select gen_random_uuid(), 'SessionCreated', '{}'::jsonb, t, t
        from generate_series(${start}::timestamptz, ${start}::timestamptz + interval '100 days', interval '7 minutes') t`.execute(
        db,
      );
      await sql`insert into outbox (id, event_type, payload, occurred_at, next_attempt_at)
        select gen_random_uuid(), 'TokenRejectedDueToRotation',
          '{"byRejection": {"global_rotation": 2, "user_rotation": 1}}'::jsonb, t, t
        from generate_series(${start}::timestamptz, ${start}::timestamptz + interval '100 days', interval '12 hours') t`.execute(
        db,
      );
      await sql`analyze outbox`.execute(db);
      const window = {
        since: new Date('2031-02-01T00:00:00.000Z'),
        until: new Date('2031-02-02T00:00:00.000Z'),
        bucketSeconds: 3600,
      };
      const rows = await new KyselyOutboxRepository(db).rejectionsByInterval(window);
      expect(rows.sort((a, b) => a.bucket - b.bucket)).toEqual([
        { bucket: 0, globalRotation: 2, userRotation: 1 },
        { bucket: 12, globalRotation: 2, userRotation: 1 },
      ]);
      // The statement the repository sends, parameters and all, explained as sent.
      const query = rejectionsByIntervalQuery(db, window).compile();
      const { rows: plan } = await db.executeQuery<{ 'QUERY PLAN': string }>(
        CompiledQuery.raw(`explain ${query.sql}`, [...query.parameters]),
      );
      const text = plan.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toMatch(/outbox_rotation_rejections_idx/);
      expect(text).not.toMatch(/Seq Scan/);
    } finally {
      await database.close();
    }
  }, 60_000);
});
