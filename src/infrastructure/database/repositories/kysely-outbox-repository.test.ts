import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test/support/databases.js';
import { KyselyOutboxRepository } from './kysely-outbox-repository.js';

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
});
