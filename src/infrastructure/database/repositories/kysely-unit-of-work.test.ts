import { randomBytes, randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test/support/databases.js';
import { KyselyUnitOfWork } from './kysely-unit-of-work.js';

const at = new Date('2030-01-01T00:00:00.000Z');

describeEachDatabase('KyselyUnitOfWork', (suite) => {
  const uow = () => new KyselyUnitOfWork(suite.db);

  async function userWithAuditAndEvent(fail: boolean) {
    const userId = randomUUID();
    const action = `Test${randomBytes(5).toString('hex')}`;
    const eventId = randomUUID();
    const work = uow().run(async (repos) => {
      await repos.users.insert({
        id: userId,
        email: `${action.toLowerCase()}@example.com`,
        passwordHash: 'h',
        role: 'user',
        createdAt: at,
      });
      await repos.users.incrementMinTokenVersion(userId, at);
      await repos.audit.append({ occurredAt: at, actor: 'test', action, userId, reason: 'r', details: {} });
      await repos.outbox.append({ id: eventId, type: action, occurredAt: at, payload: { userId } });
      if (fail) throw new Error('the handler failed after writing');
      return 'done';
    });
    return { userId, action, eventId, work };
  }

  async function stateOf(userId: string, action: string, eventId: string) {
    return uow().read(async (repos) => ({
      user: await repos.users.findById(userId),
      audit: (await repos.audit.list({ action, limit: 10 })).items.length,
      outbox: (await suite.db.selectFrom('outbox').select('id').where('id', '=', eventId).execute()).length,
    }));
  }

  it('commits state, audit row and outbox event together', async () => {
    const { userId, action, eventId, work } = await userWithAuditAndEvent(false);
    await expect(work).resolves.toBe('done');
    const state = await stateOf(userId, action, eventId);
    expect(state.user?.minTokenVersion).toBe(2);
    expect(state).toMatchObject({ audit: 1, outbox: 1 });
  });

  it('rolls all of it back when the work throws', async () => {
    const { userId, action, eventId, work } = await userWithAuditAndEvent(true);
    await expect(work).rejects.toThrow('the handler failed after writing');
    expect(await stateOf(userId, action, eventId)).toEqual({ user: null, audit: 0, outbox: 0 });
  });

  it('rolls back when a statement fails, and the database stays usable', async () => {
    const id = randomUUID();
    const failing = uow().run(async (repos) => {
      await repos.sessions.insert({
        id,
        userId: randomUUID(), // no such user: foreign key violation
        createdAt: at,
        expiresAt: at,
        userAgent: null,
        ip: null,
      });
    });
    await expect(failing).rejects.toMatchObject({ code: '23503' });
    await expect(uow().read((repos) => repos.sessions.findById(id))).resolves.toBeNull();
    await expect(uow().read((repos) => repos.securityConfig.get())).resolves.toMatchObject({
      gracePeriodSeconds: expect.any(Number),
    });
  });
});
