import { randomBytes, randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test/support/databases.js';
import { insertTestUser } from '../../../../test/support/fixtures.js';
import { KyselyRefreshTokenRepository } from './kysely-refresh-token-repository.js';
import { KyselySecurityConfigRepository } from './kysely-security-config-repository.js';
import { KyselySessionRepository } from './kysely-session-repository.js';
import { KyselyUnitOfWork } from './kysely-unit-of-work.js';
import { KyselyUserRepository } from './kysely-user-repository.js';

const t0 = new Date('2030-01-01T00:00:00.000Z');
const minutes = (n: number) => new Date(t0.getTime() + n * 60_000);

describeEachDatabase('KyselySessionRepository', (suite) => {
  const sessions = () => new KyselySessionRepository(suite.db);

  const addUser = () => insertTestUser(suite.db, 's', t0);

  /** A session with one live refresh token stamped with the current versions, as login makes it. */
  async function addSession(userId: string, createdAt = t0, expiresAt = minutes(60)): Promise<string> {
    const id = randomUUID();
    await sessions().insert({ id, userId, createdAt, expiresAt, userAgent: 'vitest', ip: '127.0.0.1' });
    const config = await new KyselySecurityConfigRepository(suite.db).get();
    const user = await new KyselyUserRepository(suite.db).findById(userId);
    await new KyselyRefreshTokenRepository(suite.db).insert({
      id: randomUUID(),
      sessionId: id,
      userId,
      tokenHash: randomBytes(32).toString('hex'),
      stamp: { userVersion: user?.minTokenVersion ?? 1, globalVersion: config.globalMinTokenVersion },
      createdAt,
      expiresAt,
      parentId: null,
    });
    return id;
  }

  it('inserts a session and finds it, last used at its creation', async () => {
    const userId = await addUser();
    const id = await addSession(userId);
    expect(await sessions().findById(id)).toEqual({
      id,
      userId,
      createdAt: t0,
      lastUsedAt: t0,
      expiresAt: minutes(60),
      revokedAt: null,
      userAgent: 'vitest',
      ip: '127.0.0.1',
    });
    expect(await sessions().findById(randomUUID())).toBeNull();
    expect(await sessions().findById('nope')).toBeNull();
  });

  it('touches the last use time', async () => {
    const id = await addSession(await addUser());
    await sessions().touch(id, minutes(5));
    expect((await sessions().findById(id))?.lastUsedAt).toEqual(minutes(5));
  });

  it('lists active sessions newest first, leaving out revoked and expired ones', async () => {
    const userId = await addUser();
    const older = await addSession(userId, t0);
    const newer = await addSession(userId, minutes(1));
    const revoked = await addSession(userId, minutes(2));
    await addSession(userId, t0, minutes(3)); // expires before "now"
    await sessions().revoke(revoked, minutes(2), 'logout');
    const active = await sessions().listActiveByUser(userId, minutes(10), { limit: 10 });
    expect(active.items.map((session) => session.id)).toEqual([newer, older]);
    expect(active.nextCursor).toBeNull();
    expect(await sessions().countActive(minutes(10), userId)).toBe(2);
  });

  it('pages active sessions newest first, each once, ties broken by id', async () => {
    const userId = await addUser();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await addSession(userId, minutes(Math.floor(i / 2))));
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await sessions().listActiveByUser(userId, minutes(10), { limit: 2, cursor });
      seen.push(...page.items.map((session) => session.id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toHaveLength(5);
    expect([...seen].sort()).toEqual([...ids].sort());
    expect(seen.slice(0, 1)).toEqual([ids[4]]);
    await expect(
      sessions().listActiveByUser(userId, minutes(10), { limit: 2, cursor: 'junk' }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('names the active sessions beyond the newest few, oldest first', async () => {
    const userId = await addUser();
    const oldest = await addSession(userId, t0);
    const middle = await addSession(userId, minutes(1));
    const revoked = await addSession(userId, minutes(2));
    const newest = await addSession(userId, minutes(3));
    await sessions().revoke(revoked, minutes(3), 'logout');
    expect(await sessions().listActiveIdsBeyondNewest(userId, minutes(10), 1)).toEqual([oldest, middle]);
    expect(await sessions().listActiveIdsBeyondNewest(userId, minutes(10), 0)).toEqual([
      oldest,
      middle,
      newest,
    ]);
    expect(await sessions().listActiveIdsBeyondNewest(userId, minutes(10), 3)).toEqual([]);
  });

  it('revokes a session once', async () => {
    const id = await addSession(await addUser());
    expect(await sessions().revoke(id, minutes(1), 'logout')).toBe(true);
    expect(await sessions().revoke(id, minutes(2), 'logout')).toBe(false);
    expect((await sessions().findById(id))?.revokedAt).toEqual(minutes(1));
    expect(await sessions().revoke(randomUUID(), minutes(1), 'logout')).toBe(false);
    const row = await suite.db
      .selectFrom('sessions')
      .select('revoked_reason')
      .where('id', '=', id)
      .executeTakeFirst();
    expect(row?.revoked_reason).toBe('logout');
  });

  it('revokes every active session of a user but the one it keeps, and no one else’s', async () => {
    const userId = await addUser();
    const otherUser = await addUser();
    const keep = await addSession(userId);
    await addSession(userId);
    await addSession(userId);
    const others = await addSession(otherUser);
    expect(await sessions().revokeAllForUser(userId, minutes(1), 'password_change', keep)).toBe(2);
    expect(
      (await sessions().listActiveByUser(userId, minutes(1), { limit: 10 })).items.map(
        (session) => session.id,
      ),
    ).toEqual([keep]);
    expect(await sessions().revokeAllForUser(userId, minutes(2), 'rotation')).toBe(1);
    expect(await sessions().countActive(minutes(2), userId)).toBe(0);
    expect((await sessions().findById(others))?.revokedAt).toBeNull();
  });

  it('counts active sessions across all users', async () => {
    const now = minutes(30);
    const before = await sessions().countActive(now);
    const userId = await addUser();
    await addSession(userId);
    await addSession(userId);
    await addSession(userId, t0, minutes(20)); // expired by now
    expect(await sessions().countActive(now)).toBe(before + 2);
  });

  it('leaves out sessions whose tokens a user rotation has invalidated, without touching their rows', async () => {
    const userId = await addUser();
    await addSession(userId);
    expect(await sessions().countActive(minutes(1), userId)).toBe(1);
    await new KyselyUserRepository(suite.db).incrementMinTokenVersion(userId, minutes(1));
    expect(await sessions().listActiveByUser(userId, minutes(2), { limit: 10 })).toEqual({
      items: [],
      nextCursor: null,
    });
    expect(await sessions().countActive(minutes(2), userId)).toBe(0);
    const fresh = await addSession(userId, minutes(3));
    expect(
      (await sessions().listActiveByUser(userId, minutes(4), { limit: 10 })).items.map((s) => s.id),
    ).toEqual([fresh]);
  });

  it('locks a session row inside a transaction', async () => {
    const id = await addSession(await addUser());
    const uow = new KyselyUnitOfWork(suite.db);
    expect((await uow.run((repos) => repos.sessions.findById(id, 'update')))?.id).toBe(id);
    expect((await uow.run((repos) => repos.sessions.findById(id, 'share')))?.id).toBe(id);
  });
});
