import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { DisableUser } from '../../src/application/commands/disable-user/command.js';
import { EnableUser } from '../../src/application/commands/enable-user/command.js';
import { RevokeAllSessions } from '../../src/application/commands/revoke-all-sessions/command.js';
import type { FeedChange, FeedPage } from '../../src/http/wire-types.js';
import { KyselyUserRepository } from '../../src/infrastructure/database/repositories/kysely-user-repository.js';
import { testDatabases } from '../support/databases.js';
import { USER_PASSWORD, useTestApp } from '../support/test-app.js';

describe.each(testDatabases())('revocation feed on $name', (target) => {
  // A cap of 3 sessions per user, so one test can push a user past it.
  const t = useTestApp(target, { TOKENWARDEN_MAX_SESSIONS_PER_USER: '3' });
  let admin = '';
  let n = 0;
  const email = () => `feed-${target.name}-${++n}@example.com`;

  beforeAll(async () => {
    admin = await t.adminToken();
  });

  const feed = async (after: number, limit = 1000): Promise<FeedPage> => {
    const res = await t.request('GET', `/api/v1/revocations?after=${after}&limit=${limit}`, { token: admin });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  /** The feed rows one action wrote. */
  const rowsOf = async (action: () => Promise<unknown>): Promise<FeedChange[]> => {
    const before = (await feed(0)).lastSeq;
    await action();
    return (await feed(before)).changes;
  };

  const userWithSessions = async (sessions: number) => {
    const user = await t.register(email());
    const pairs = [];
    for (let i = 0; i < sessions; i++) {
      pairs.push(await t.login(user.email));
      // Apart in time, so "the oldest session" names one.
      t.clock.advance(1);
    }
    return { ...user, pairs };
  };

  const ok = (res: { statusCode: number; body: string }, status: number) => {
    expect(res.statusCode, res.body).toBe(status);
    return res;
  };

  it('refuses both routes without credentials (401) and to a non-admin (403)', async () => {
    expect((await t.request('GET', '/api/v1/revocations')).statusCode).toBe(401);
    expect((await t.request('GET', '/api/v1/revocations/stream')).statusCode).toBe(401);
    const user = await userWithSessions(1);
    const token = user.pairs[0]?.accessToken;
    expect((await t.request('GET', '/api/v1/revocations', { token })).statusCode).toBe(403);
  });

  it('serves a service client by its credentials, and refuses it once revoked', async () => {
    const createdRes = ok(
      await t.request('POST', '/api/v1/admin/service-clients', {
        token: admin,
        body: { name: 'orders-api' },
      }),
      201,
    );
    const created = JSON.parse(createdRes.body) as { id: string; secret: string };
    const basic = (secret: string) => ({
      authorization: `Basic ${Buffer.from(`${created.id}:${secret}`).toString('base64')}`,
    });
    const feed = ok(await t.request('GET', '/api/v1/revocations', { headers: basic(created.secret) }), 200);
    expect((JSON.parse(feed.body) as FeedPage).state.globalMinTokenVersion).toBeGreaterThanOrEqual(1);
    const wrong = await t.request('GET', '/api/v1/revocations', { headers: basic(`${created.secret}x`) });
    expect(wrong.statusCode).toBe(401);
    ok(
      await t.request('POST', `/api/v1/admin/service-clients/${created.id}/revocation`, {
        token: admin,
        body: { reason: 'rotated its secret' },
      }),
      200,
    );
    const revoked = await t.request('GET', '/api/v1/revocations', { headers: basic(created.secret) });
    expect(revoked.statusCode).toBe(401);
  });

  it('writes exactly one row for each command that makes access tokens invalid', async () => {
    const rotated = await userWithSessions(1);
    const global = await rowsOf(async () =>
      ok(
        await t.request('POST', '/api/v1/admin/security/rotations', {
          token: admin,
          body: { reason: 'feed test', gracePeriodSeconds: 300 },
        }),
        201,
      ),
    );
    expect(global).toMatchObject([
      { kind: 'global_version', details: { previousVersion: expect.any(Number) } },
    ]);
    const state = (await feed(0)).state;
    expect(global[0]?.details.globalMinTokenVersion).toBe(state.globalMinTokenVersion);
    expect(global[0]?.details.graceUntil).toBe(state.graceUntil);

    expect(
      await rowsOf(async () =>
        ok(
          await t.request('POST', `/api/v1/admin/users/${rotated.id}/rotations`, {
            token: admin,
            body: { reason: 'feed test' },
          }),
          201,
        ),
      ),
    ).toMatchObject([{ kind: 'user_version', userId: rotated.id, details: { minTokenVersion: 2 } }]);

    const self = await userWithSessions(1);
    expect(
      await rowsOf(async () =>
        ok(
          await t.request('POST', '/api/v1/users/me/rotations', {
            token: self.pairs[0]?.accessToken,
            body: { reason: 'log out everywhere' },
          }),
          201,
        ),
      ),
    ).toMatchObject([{ kind: 'user_version', userId: self.id }]);

    const changer = await userWithSessions(3);
    const [keep, other1, other2] = changer.pairs;
    const password = await rowsOf(async () =>
      ok(
        await t.request('POST', '/api/v1/users/me/password', {
          token: keep?.accessToken,
          body: { currentPassword: USER_PASSWORD, newPassword: 'a brand new passphrase' },
        }),
        200,
      ),
    );
    expect(password.map((c) => c.kind)).toEqual(['user_version', 'session_revoked', 'session_revoked']);
    expect(new Set(password.slice(1).map((c) => c.sessionId))).toEqual(
      new Set([other1?.sessionId, other2?.sessionId]),
    );

    const leaving = await userWithSessions(2);
    expect(
      await rowsOf(async () =>
        ok(
          await t.request('DELETE', '/api/v1/sessions/current', { token: leaving.pairs[0]?.accessToken }),
          204,
        ),
      ),
    ).toMatchObject([
      { kind: 'session_revoked', sessionId: leaving.pairs[0]?.sessionId, userId: leaving.id },
    ]);
    expect(
      await rowsOf(async () =>
        ok(
          await t.request('DELETE', `/api/v1/sessions/${leaving.pairs[1]?.sessionId}`, {
            token: leaving.pairs[1]?.accessToken,
          }),
          204,
        ),
      ),
    ).toMatchObject([{ kind: 'session_revoked', sessionId: leaving.pairs[1]?.sessionId }]);

    const reused = await userWithSessions(1);
    const first = reused.pairs[0];
    ok(await t.refresh(first?.refreshToken ?? ''), 200);
    t.clock.advance(11);
    expect(
      await rowsOf(async () => expect((await t.refresh(first?.refreshToken ?? '')).statusCode).toBe(401)),
    ).toMatchObject([{ kind: 'session_revoked', sessionId: first?.sessionId }]);

    const capped = await userWithSessions(3);
    expect(await rowsOf(() => t.login(capped.email))).toMatchObject([
      {
        kind: 'session_revoked',
        sessionId: capped.pairs[0]?.sessionId,
        details: { reason: expect.any(String) },
      },
    ]);

    const everywhere = await userWithSessions(2);
    const revokeAll = await rowsOf(async () =>
      expect(
        (
          await t.tw.services.revokeAllSessions.handle(
            RevokeAllSessions({ userId: everywhere.id, actor: 'cli:test', reason: 'feed test' }),
          )
        ).ok,
      ).toBe(true),
    );
    expect(revokeAll.map((c) => c.kind)).toEqual(['session_revoked', 'session_revoked']);

    const promoted = await userWithSessions(0);
    expect(
      await rowsOf(async () =>
        ok(
          await t.request('POST', `/api/v1/admin/users/${promoted.id}/promotion`, {
            token: admin,
            body: { reason: 'feed test' },
          }),
          200,
        ),
      ),
    ).toMatchObject([{ kind: 'user_version', userId: promoted.id }]);

    const disabled = await userWithSessions(0);
    expect(
      await rowsOf(async () =>
        expect(
          (
            await t.tw.services.disableUser.handle(
              DisableUser({ userId: disabled.id, actor: 'cli:t', reason: 'x' }),
            )
          ).ok,
        ).toBe(true),
      ),
    ).toMatchObject([{ kind: 'user_disabled', userId: disabled.id }]);
    // Disabling twice changes nothing, so writes nothing.
    expect(
      await rowsOf(() =>
        t.tw.services.disableUser.handle(DisableUser({ userId: disabled.id, actor: 'cli:t', reason: 'x' })),
      ),
    ).toEqual([]);
    expect(
      await rowsOf(() =>
        t.tw.services.enableUser.handle(EnableUser({ userId: disabled.id, actor: 'cli:t', reason: 'x' })),
      ),
    ).toMatchObject([
      { kind: 'user_version', userId: disabled.id },
      { kind: 'user_enabled', userId: disabled.id },
    ]);

    const keysBefore = (await feed(0)).state.signingKeys;
    const oldKid = keysBefore.find((k) => k.status === 'active')?.kid;
    const rotation = await rowsOf(async () =>
      ok(await t.request('POST', '/api/v1/admin/signing-keys/rotations', { token: admin, body: {} }), 201),
    );
    expect(rotation).toMatchObject([{ kind: 'signing_key_rotated', details: { previousKid: oldKid } }]);
    admin = await t.adminToken();
    const retirement = await rowsOf(async () =>
      ok(
        await t.request('POST', `/api/v1/admin/signing-keys/${oldKid}/retirement`, {
          token: admin,
          body: {},
        }),
        200,
      ),
    );
    expect(retirement).toMatchObject([{ kind: 'signing_key_retired', kid: oldKid }]);
    expect((await feed(0)).state.signingKeys).toContainEqual({ kid: oldKid, status: 'retired' });
  });

  it('writes nothing for a change that rolls back', async () => {
    const user = await t.register(email());
    const before = (await feed(0)).lastSeq;
    await expect(
      t.tw.context.uow.run(async (repos) => {
        await repos.users.incrementMinTokenVersion(user.id, t.clock.now());
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const after = await feed(before);
    expect(after.changes).toEqual([]);
    expect(after.lastSeq).toBe(before);
  });

  it('pages every change once, in order, and holds only the last access-token TTL', async () => {
    const before = (await feed(0)).lastSeq;
    const users = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(() => t.register(email())));
    for (const user of users) {
      ok(
        await t.request('POST', `/api/v1/admin/users/${user.id}/rotations`, {
          token: admin,
          body: { reason: 'p' },
        }),
        201,
      );
    }
    const seen: FeedChange[] = [];
    let cursor = before;
    for (let page = await feed(cursor, 3); ; page = await feed(cursor, 3)) {
      seen.push(...page.changes);
      expect(page.lastSeq).toBeGreaterThanOrEqual(cursor);
      cursor = page.lastSeq;
      if (!page.hasMore) break;
    }
    expect(seen.map((c) => c.userId)).toEqual(users.map((u) => u.id));
    const seqs = seen.map((c) => c.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect((await feed(cursor)).changes).toEqual([]);

    // One TTL (and the skew margin) later, a fresh verifier gets the state and nothing older.
    const ttl = (await feed(0)).accessTokenTtlSeconds;
    t.clock.advance(ttl + 61);
    admin = await t.adminToken();
    const fresh = await feed(0);
    expect(fresh.changes).toEqual([]);
    expect(fresh.lastSeq).toBe(cursor);
  });

  it.runIf(target.name === 'postgres')(
    'never lets a reader pass a seq that commits later: the second writer waits for the first commit',
    async () => {
      const [a, b] = await Promise.all([t.register(email()), t.register(email())]);
      const before = (await feed(0)).lastSeq;
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let aTookSeq: () => void = () => {};
      const aHasSeq = new Promise<void>((resolve) => {
        aTookSeq = resolve;
      });
      // Writer A takes its seq and holds its transaction open.
      const writerA = t.tw.db.transaction().execute(async (trx) => {
        await new KyselyUserRepository(trx).incrementMinTokenVersion(a.id, t.clock.now());
        aTookSeq();
        await gate;
      });
      await aHasSeq;
      // Writer B, through the ordinary unit of work, commits after A whatever it does.
      let bDone = false;
      const writerB = t.tw.context.uow
        .run((repos) => repos.users.incrementMinTokenVersion(b.id, t.clock.now()))
        .then(() => {
          bDone = true;
        });
      await sleep(300); // time B would take to commit were it not held: a negative check
      expect(bDone).toBe(false);
      // A reader in between sees neither: nothing it could page past.
      expect((await feed(before)).changes).toEqual([]);
      release();
      await Promise.all([writerA, writerB]);
      const changes = (await feed(before)).changes;
      expect(changes.map((c) => c.userId)).toEqual([a.id, b.id]);
      expect(changes[1]?.seq).toBe((changes[0]?.seq ?? 0) + 1);
    },
  );
});
