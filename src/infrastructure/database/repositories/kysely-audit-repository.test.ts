import { randomBytes, randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test/support/databases.js';
import type { AuditEntry } from '../../../domain/audit-entry.js';
import { InvalidCursorError } from '../../../domain/errors.js';
import { KyselyAuditRepository } from './kysely-audit-repository.js';

const t0 = new Date('2030-01-01T00:00:00.000Z');
const minutes = (n: number) => new Date(t0.getTime() + n * 60_000);

describeEachDatabase('KyselyAuditRepository', (suite) => {
  const audit = () => new KyselyAuditRepository(suite.db);
  const uniqueAction = () => `Test${randomBytes(5).toString('hex')}`;

  function entry(overrides: Partial<AuditEntry>): AuditEntry {
    return {
      occurredAt: t0,
      actor: 'cli:root',
      action: 'GlobalTokenRotationSucceeded',
      userId: null,
      reason: null,
      details: {},
      ...overrides,
    };
  }

  it('appends an entry with its JSON details and reads it back', async () => {
    const action = uniqueAction();
    const userId = randomUUID();
    const details = { previousVersion: 1, newVersion: 2, nested: { ok: true }, list: ['a'] };
    await audit().append(entry({ action, userId, reason: 'key leaked', details }));
    const page = await audit().list({ action, limit: 10 });
    expect(page.nextCursor).toBeNull();
    expect(page.items).toHaveLength(1);
    const [record] = page.items;
    expect(record).toEqual({
      id: expect.stringMatching(/^[1-9][0-9]*$/),
      occurredAt: t0,
      actor: 'cli:root',
      action,
      userId,
      reason: 'key leaked',
      details,
    });
  });

  it('pages newest first with an opaque cursor, and filters by action, user and time', async () => {
    const action = uniqueAction();
    const userId = randomUUID();
    for (let index = 0; index < 5; index++) {
      await audit().append(entry({ action, userId, occurredAt: minutes(index), details: { index } }));
    }
    await audit().append(entry({ action, userId: randomUUID(), details: { index: 'other user' } }));
    await audit().append(entry({ action: uniqueAction(), userId, details: { index: 'other action' } }));

    const indexes: unknown[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await audit().list({ action, userId, limit: 2, ...(cursor ? { cursor } : {}) });
      indexes.push(...page.items.map((item) => item.details.index));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor !== undefined);
    expect(indexes).toEqual([4, 3, 2, 1, 0]);
    expect(pages).toBe(3);

    const recent = await audit().list({ action, userId, since: minutes(3), limit: 10 });
    expect(recent.items.map((item) => item.details.index)).toEqual([4, 3]);
    const byUser = await audit().list({ userId, limit: 10 });
    expect(byUser.items.map((item) => item.details.index)).toEqual(['other action', 4, 3, 2, 1, 0]);
  });

  it('matches a user id that is not a uuid instead of failing', async () => {
    await audit().append(entry({ action: uniqueAction(), userId: 'not-a-uuid' }));
    expect((await audit().list({ userId: 'not-a-uuid', limit: 10 })).items).toHaveLength(1);
  });

  it('rejects a cursor it did not issue', async () => {
    await expect(audit().list({ limit: 10, cursor: '!!!' })).rejects.toBeInstanceOf(InvalidCursorError);
    const wrongShape = Buffer.from(JSON.stringify(['-1'])).toString('base64url');
    await expect(audit().list({ limit: 10, cursor: wrongShape })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    const tooBig = Buffer.from(JSON.stringify(['99999999999999999999'])).toString('base64url');
    await expect(audit().list({ limit: 10, cursor: tooBig })).rejects.toBeInstanceOf(InvalidCursorError);
  });
});
