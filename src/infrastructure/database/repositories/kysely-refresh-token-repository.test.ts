import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test/support/databases.js';
import { insertTestUser } from '../../../../test/support/fixtures.js';
import type { NewRefreshToken } from '../../../application/ports/refresh-token-repository.js';
import { KyselyRefreshTokenRepository } from './kysely-refresh-token-repository.js';
import { KyselySessionRepository } from './kysely-session-repository.js';
import { KyselyUnitOfWork } from './kysely-unit-of-work.js';

const t0 = new Date('2030-01-01T00:00:00.000Z');
const minutes = (n: number) => new Date(t0.getTime() + n * 60_000);
/** `writeBefore` is judged by the database's own clock: an hour from the real now. */
const inTime = () => new Date(Date.now() + 3_600_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const newHash = () => createHash('sha256').update(randomBytes(32)).digest('hex');

describeEachDatabase('KyselyRefreshTokenRepository', (suite) => {
  const tokens = () => new KyselyRefreshTokenRepository(suite.db);
  const sessions = () => new KyselySessionRepository(suite.db);

  const addUser = () => insertTestUser(suite.db, 'rt', t0);

  async function addSession(userId: string, expiresAt = minutes(600)): Promise<string> {
    const id = randomUUID();
    await sessions().insert({ id, userId, createdAt: t0, expiresAt, userAgent: null, ip: null });
    return id;
  }

  function tokenIn(
    sessionId: string,
    userId: string,
    overrides: Partial<NewRefreshToken> = {},
  ): NewRefreshToken {
    return {
      id: randomUUID(),
      sessionId,
      userId,
      tokenHash: newHash(),
      stamp: { userVersion: 3, globalVersion: 7 },
      createdAt: t0,
      expiresAt: minutes(60),
      parentId: null,
      ...overrides,
    };
  }

  async function addToken(sessionId: string, userId: string, overrides: Partial<NewRefreshToken> = {}) {
    const token = tokenIn(sessionId, userId, overrides);
    await tokens().insert(token);
    return token;
  }

  it('finds a token by its hash with both version stamps, with its user and session', async () => {
    const userId = await addUser();
    const sessionId = await addSession(userId);
    const token = await addToken(sessionId, userId);
    const expected = {
      id: token.id,
      sessionId,
      userId,
      stamp: { userVersion: 3, globalVersion: 7 },
      createdAt: t0,
      expiresAt: minutes(60),
      usedAt: null,
      revokedAt: null,
      successorId: null,
      successorSealed: null,
    };
    const found = await new KyselyUnitOfWork(suite.db).run((repos) =>
      repos.refreshTokens.findForRefresh(token.tokenHash),
    );
    expect(found?.token).toEqual(expected);
    expect(found?.user.id).toBe(userId);
    expect(found?.session.id).toBe(sessionId);
    expect(await tokens().findById(token.id)).toEqual(expected);
    expect(await tokens().findForRefresh(newHash())).toBeNull();
    expect(await tokens().findById('nope')).toBeNull();
  });

  it('refuses two tokens with the same hash', async () => {
    const userId = await addUser();
    const sessionId = await addSession(userId);
    const first = await addToken(sessionId, userId);
    await expect(
      tokens().insert(tokenIn(sessionId, userId, { tokenHash: first.tokenHash })),
    ).rejects.toMatchObject({
      code: '23505',
    });
  });

  it('looks the hash up through the unique index', async () => {
    const plan = await suite.db.transaction().execute(async (trx) => {
      // Tiny tables make a sequential scan the cheapest plan; forbid it to see whether the index serves.
      await sql`set local enable_seqscan = off`.execute(trx);
      const query = trx
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('token_hash', '=', newHash())
        .forUpdate();
      const compiled = query.compile();
      const { rows } = await trx.executeQuery<{ 'QUERY PLAN': string }>(
        CompiledQuery.raw(`explain ${compiled.sql}`, [...compiled.parameters]),
      );
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index Scan using refresh_tokens_token_hash_key/);
  });

  it('keeps no foreign key from a token to its successor (migration 0009): the pruner deletes a parent and its successor in any order', async () => {
    // A successor id naming no row is what a refresh finds after a prune; it takes the reuse
    // path (test/retention/pruner.test.ts replays a used token after a prune).
    const userId = await addUser();
    const token = await addToken(await addSession(userId), userId);
    const missing = randomUUID();
    await suite.db
      .updateTable('refresh_tokens')
      .set({ used_at: minutes(1), successor_id: missing, successor_sealed: 'sealed' })
      .where('id', '=', token.id)
      .execute();
    const row = await suite.db
      .selectFrom('refresh_tokens')
      .select('successor_id')
      .where('id', '=', token.id)
      .executeTakeFirstOrThrow();
    expect(row.successor_id).toBe(missing);
  });

  it('writes nothing when the statement runs after writeBefore (it arrived after its client was answered)', async () => {
    const userId = await addUser();
    const sessionId = await addSession(userId);
    const parent = await addToken(sessionId, userId);
    const late = { successorSealed: 'sealed', usedAt: minutes(1), writeBefore: new Date(Date.now() - 1_000) };
    const first = { ...tokenIn(sessionId, userId), parentId: parent.id };
    expect(
      await new KyselyUnitOfWork(suite.db).run((repos) =>
        repos.refreshTokens.rotate({ successor: first, ...late }, null),
      ),
    ).toBe(false);
    const second = { ...tokenIn(sessionId, userId), parentId: parent.id };
    const expected = {
      globalMinTokenVersion: 1,
      graceUntil: null,
      userMinTokenVersion: 1,
      role: 'user' as const,
    };
    expect(await tokens().rotate({ successor: second, ...late }, expected)).toBe(false);
    expect(await tokens().findById(parent.id)).toMatchObject({ usedAt: null, successorId: null });
    expect(await tokens().findById(first.id)).toBeNull();
    expect(await tokens().findById(second.id)).toBeNull();
  });

  it('reopens the reuse window of a token exactly as a lost refresh left it, and of no other', async () => {
    const userId = await addUser();
    const sessionId = await addSession(userId);
    const parent = await addToken(sessionId, userId);
    const successor = { ...tokenIn(sessionId, userId), parentId: parent.id };
    await tokens().rotate(
      {
        successor,
        successorSealed: 'sealed',
        usedAt: minutes(1),
        writeBefore: inTime(),
      },
      null,
    );
    const hash = parent.tokenHash;
    expect(await tokens().reopenReuseWindow(hash, [minutes(2)], minutes(5))).toBe(false);
    expect(await tokens().reopenReuseWindow(hash, [minutes(3), minutes(1)], minutes(5))).toBe(true);
    expect(await tokens().findById(parent.id)).toMatchObject({
      usedAt: minutes(5),
      successorSealed: 'sealed',
    });
    // An unused token (the lost write never committed) is left alone.
    const unused = await addToken(sessionId, userId);
    expect(await tokens().reopenReuseWindow(unused.tokenHash, [minutes(1)], minutes(5))).toBe(false);
    expect(await tokens().findById(unused.id)).toMatchObject({ usedAt: null });
  });

  it('does not judge a token while a write to it is in progress (it may yet commit): it throws, and reopens once it committed', async () => {
    // PGlite runs one transaction at a time: nothing can be in progress beside this one.
    if (suite.name !== 'postgres') return;
    const userId = await addUser();
    const sessionId = await addSession(userId);
    const parent = await addToken(sessionId, userId);
    let commit!: () => void;
    const mayCommit = new Promise<void>((resolve) => {
      commit = resolve;
    });
    let wrote!: () => void;
    const written = new Promise<void>((resolve) => {
      wrote = resolve;
    });
    // A write that has not committed yet, as one waiting for a synchronous standby.
    const inProgress = new KyselyUnitOfWork(suite.db).run(async (repos) => {
      await repos.refreshTokens.rotate(
        {
          successor: { ...tokenIn(sessionId, userId), parentId: parent.id },
          successorSealed: 'sealed',
          usedAt: minutes(1),
          writeBefore: inTime(),
        },
        null,
      );
      wrote();
      await mayCommit;
    });
    await written;
    await expect(tokens().reopenReuseWindow(parent.tokenHash, [minutes(1)], minutes(5))).rejects.toThrow();
    commit();
    await inProgress;
    expect(await tokens().reopenReuseWindow(parent.tokenHash, [minutes(1)], minutes(5))).toBe(true);
  });

  it('rotates: inserts the successor, marks the parent used with its sealed successor, touches the session', async () => {
    const userId = await addUser();
    const sessionId = await addSession(userId);
    const parent = await addToken(sessionId, userId);
    const successor = { ...tokenIn(sessionId, userId), parentId: parent.id };
    await new KyselyUnitOfWork(suite.db).run((repos) =>
      repos.refreshTokens.rotate(
        {
          successor,
          successorSealed: 'sealed-successor',
          usedAt: minutes(1),
          writeBefore: inTime(),
        },
        null,
      ),
    );
    expect(await tokens().findById(parent.id)).toMatchObject({
      usedAt: minutes(1),
      successorId: successor.id,
      successorSealed: 'sealed-successor',
    });
    expect(await tokens().findById(successor.id)).toMatchObject({
      sessionId,
      usedAt: null,
      successorId: null,
      stamp: successor.stamp,
    });
    expect((await sessions().findById(sessionId))?.lastUsedAt).toEqual(minutes(1));
  });

  it('makes a second transaction wait for the first one’s lock on the token', async () => {
    const userId = await addUser();
    const sessionId = await addSession(userId);
    const token = await addToken(sessionId, userId);
    const uow = new KyselyUnitOfWork(suite.db);
    let releaseFirst!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let firstLocked!: () => void;
    const firstHasLock = new Promise<void>((resolve) => {
      firstLocked = resolve;
    });
    const order: string[] = [];

    const first = uow.run(async (repos) => {
      await repos.refreshTokens.findForRefresh(token.tokenHash);
      firstLocked();
      await firstMayCommit;
      const successor = { ...tokenIn(sessionId, userId), parentId: token.id };
      await repos.refreshTokens.rotate(
        {
          successor,
          successorSealed: 'sealed',
          usedAt: minutes(1),
          writeBefore: inTime(),
        },
        null,
      );
      order.push('first committed');
    });
    await firstHasLock;
    const second = uow.run(async (repos) => {
      const seen = await repos.refreshTokens.findForRefresh(token.tokenHash);
      order.push('second read');
      return seen;
    });
    await sleep(150); // time the second would take to read were it not waiting: a negative check
    expect(order).toEqual([]);
    releaseFirst();
    await first;
    const seenBySecond = await second;
    expect(order).toEqual(['first committed', 'second read']);
    expect(seenBySecond?.token.usedAt).toEqual(minutes(1));
  });

  it('rotates only if unchanged: writes while the facts hold, nothing once the token is used or a version moved', async () => {
    const userId = await addUser();
    const sessionId = await addSession(userId);
    const facts = await tokens().findFacts((await addToken(sessionId, userId)).tokenHash);
    if (facts === null) throw new Error('token not found');
    const expected = {
      globalMinTokenVersion: facts.config.globalMinTokenVersion,
      graceUntil: facts.config.graceUntil,
      userMinTokenVersion: facts.user.minTokenVersion,
      role: facts.user.role,
    };
    const rotation = (parentId: string, changed: Partial<typeof expected> = {}) => {
      const successor = { ...tokenIn(sessionId, userId), parentId };
      const write = { successor, successorSealed: 'sealed', usedAt: minutes(1), writeBefore: inTime() };
      return tokens()
        .rotate(write, { ...expected, ...changed })
        .then(async (written) => ({ written, stored: await tokens().findById(successor.id) }));
    };

    for (const changed of [
      { globalMinTokenVersion: expected.globalMinTokenVersion - 1 },
      { graceUntil: minutes(5) },
      { userMinTokenVersion: expected.userMinTokenVersion - 1 },
      { role: 'admin' as const },
    ]) {
      expect(await rotation(facts.token.id, changed)).toEqual({ written: false, stored: null });
    }
    expect((await tokens().findById(facts.token.id))?.usedAt).toBeNull();

    const first = await rotation(facts.token.id);
    expect(first.written).toBe(true);
    expect(await tokens().findById(facts.token.id)).toMatchObject({
      usedAt: minutes(1),
      successorId: first.stored?.id,
    });
    expect((await sessions().findById(sessionId))?.lastUsedAt).toEqual(minutes(1));
    // Used now: a second write for the same parent is refused and leaves no orphan successor.
    expect(await rotation(facts.token.id)).toEqual({ written: false, stored: null });
  });

  it('revokes the unrevoked tokens of one session', async () => {
    const userId = await addUser();
    const sessionId = await addSession(userId);
    const otherSession = await addSession(userId);
    await addToken(sessionId, userId);
    await addToken(sessionId, userId, { expiresAt: minutes(-5) });
    const untouched = await addToken(otherSession, userId);
    expect(await tokens().revokeBySession(sessionId, minutes(1))).toBe(2);
    expect(await tokens().revokeBySession(sessionId, minutes(2))).toBe(0);
    expect((await tokens().findById(untouched.id))?.revokedAt).toBeNull();
  });

  it('revokes a user’s tokens except in the session it keeps', async () => {
    const userId = await addUser();
    const otherUser = await addUser();
    const keep = await addSession(userId);
    const drop = await addSession(userId);
    const kept = await addToken(keep, userId);
    await addToken(drop, userId);
    await addToken(drop, userId);
    const othersToken = await addToken(await addSession(otherUser), otherUser);
    expect(await tokens().revokeByUser(userId, minutes(1), keep)).toBe(2);
    expect((await tokens().findById(kept.id))?.revokedAt).toBeNull();
    expect(await tokens().revokeByUser(userId, minutes(2))).toBe(1);
    expect((await tokens().findById(othersToken.id))?.revokedAt).toBeNull();
  });

  it('counts live tokens: unused, unrevoked, unexpired, in a session neither revoked nor expired', async () => {
    const now = minutes(30);
    const beforeAll = await tokens().countLive(now);
    const userId = await addUser();
    const session = await addSession(userId);
    await addToken(session, userId); // live
    await addToken(session, userId); // live
    await addToken(session, userId, { expiresAt: minutes(10) }); // expired
    const used = await addToken(session, userId);
    const successor = { ...tokenIn(session, userId, { expiresAt: minutes(10) }), parentId: used.id }; // expired
    await tokens().rotate(
      {
        successor,
        successorSealed: 'sealed',
        usedAt: minutes(1),
        writeBefore: inTime(),
      },
      null,
    );
    const revokedSession = await addSession(userId);
    await addToken(revokedSession, userId);
    await sessions().revoke(revokedSession, minutes(1), 'logout');
    const expiredSession = await addSession(userId, minutes(20));
    await addToken(expiredSession, userId);
    const otherUser = await addUser();
    await addToken(await addSession(otherUser), otherUser); // live, someone else's

    expect(await tokens().countLive(now, userId)).toBe(2);
    expect(await tokens().countLive(now, otherUser)).toBe(1);
    expect(await tokens().countLive(now)).toBe(beforeAll + 3);
    expect(await sessions().countActive(now, userId)).toBe(1);
  });
});
