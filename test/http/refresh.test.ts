import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useTestApp } from '../support/test-app.js';

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString());

describe.each(testDatabases())('refresh, reuse and logout on $name', (target) => {
  const t = useTestApp(target);
  let n = 0;
  const freshUser = async () => {
    const email = `r${++n}@example.com`;
    await t.register(email);
    return email;
  };

  it('login answers a token pair with the documented shape, not cacheable', async () => {
    const email = await freshUser();
    const res = await t.request('POST', '/api/v1/sessions', {
      body: { email, password: 'correct horse battery' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const pair = res.json();
    expect(pair).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.stringMatching(/^twr_[A-Za-z0-9_-]{43}$/),
      tokenType: 'Bearer',
      expiresIn: 900,
      refreshExpiresIn: expect.any(Number),
      sessionId: expect.any(String),
    });
    const claims = claimsOf(pair.accessToken);
    // The issuer is the public URL: without TOKENWARDEN_PUBLIC_URL, http://localhost:<PORT>.
    expect(claims).toMatchObject({
      sid: pair.sessionId,
      role: 'user',
      ver: 1,
      gver: 1,
      iss: expect.stringMatching(/^http:\/\/localhost:\d+$/),
      client_id: 'tokenwarden',
    });
    expect(claims.exp - claims.iat).toBe(900);
  });

  it('wrong password and unknown email are the same 401 invalid_credentials', async () => {
    const email = await freshUser();
    const wrong = await t.request('POST', '/api/v1/sessions', {
      body: { email, password: 'wrong password!' },
    });
    const unknown = await t.request('POST', '/api/v1/sessions', {
      body: { email: 'nobody@example.com', password: 'wrong password!' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().code).toBe('invalid_credentials');
    expect(unknown.json().detail).toBe(wrong.json().detail);
  });

  it('every refresh rotates: a new refresh token each time, in the same session', async () => {
    const pair = await t.login(await freshUser());
    const first = await t.refresh(pair.refreshToken);
    expect(first.statusCode).toBe(200);
    const a = first.json();
    expect(a.refreshToken).not.toBe(pair.refreshToken);
    expect(a.sessionId).toBe(pair.sessionId);
    const second = (await t.refresh(a.refreshToken)).json();
    expect(second.refreshToken).not.toBe(a.refreshToken);
    expect(second.sessionId).toBe(pair.sessionId);
  });

  it('unknown and malformed refresh tokens are 401 token_invalid', async () => {
    const unknown = await t.refresh(`twr_${'A'.repeat(43)}`);
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().code).toBe('token_invalid');
    const malformed = await t.refresh('not-a-token');
    expect(malformed.statusCode).toBe(401);
    expect(malformed.json().code).toBe('token_invalid');
  });

  it('20 concurrent refreshes of one token all answer 200 with the same successor', async () => {
    const pair = await t.login(await freshUser());
    const answers = await Promise.all(Array.from({ length: 20 }, () => t.refresh(pair.refreshToken)));
    expect(answers.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    const successors = new Set(answers.map((r) => r.json().refreshToken));
    expect(successors.size).toBe(1);
    const [successor] = [...successors] as [string];
    // Each answer has a working access token.
    for (const r of answers.slice(0, 3)) {
      expect((await t.request('GET', '/api/v1/users/me', { token: r.json().accessToken })).statusCode).toBe(
        200,
      );
    }
    // Exactly one live token in the session.
    const live = await t.tw.db
      .selectFrom('refresh_tokens')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('session_id', '=', pair.sessionId)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    expect(Number(live.n)).toBe(1);

    // After the reuse interval the same token is reuse: 401 token_reused, and the successor dies too.
    t.clock.advance(11);
    const reused = await t.refresh(pair.refreshToken);
    expect(reused.statusCode).toBe(401);
    expect(reused.json().code).toBe('token_reused');
    const dead = await t.refresh(successor);
    expect(dead.statusCode).toBe(401);
    expect(dead.json().code).toBe('token_revoked');
    const admin = await t.adminToken();
    const audit = (
      await t.request('GET', '/api/v1/admin/audit?action=refresh_token.reuse_detected', { token: admin })
    ).json();
    expect(audit.items[0].details.sessionId).toBe(pair.sessionId);
    const events = await t.tw.db
      .selectFrom('outbox')
      .selectAll()
      .where('event_type', '=', 'RefreshTokenReuseDetected')
      .execute();
    expect(events.some((e) => e.payload.sessionId === pair.sessionId)).toBe(true);
  });

  it('a replay inside the interval still honours a rotation that happened in between', async () => {
    const pair = await t.login(await freshUser());
    const first = await t.refresh(pair.refreshToken);
    expect(first.statusCode).toBe(200);
    const me = (await t.request('GET', '/api/v1/users/me', { token: first.json().accessToken })).json();
    const admin = await t.adminToken();
    await t.request('POST', `/api/v1/admin/users/${me.id}/rotations`, {
      token: admin,
      body: { reason: 'r' },
    });
    const replay = await t.refresh(pair.refreshToken);
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({ code: 'token_rotated', rejection: 'user_rotation' });
  });

  it('logout revokes the session: its refresh and access tokens stop working', async () => {
    const pair = await t.login(await freshUser());
    const out = await t.request('DELETE', '/api/v1/sessions/current', { token: pair.accessToken });
    expect(out.statusCode).toBe(204);
    expect((await t.refresh(pair.refreshToken)).json().code).toBe('token_revoked');
    expect((await t.request('GET', '/api/v1/users/me', { token: pair.accessToken })).statusCode).toBe(401);
  });

  it('lists my sessions with the current one marked, and revokes another by id', async () => {
    const email = await freshUser();
    const a = await t.login(email);
    const b = await t.login(email);
    const list = await t.request('GET', '/api/v1/sessions', { token: a.accessToken });
    expect(list.statusCode).toBe(200);
    const items = list.json().items;
    expect(items).toHaveLength(2);
    expect(items.find((s: { id: string }) => s.id === a.sessionId).current).toBe(true);
    expect(items.find((s: { id: string }) => s.id === b.sessionId).current).toBe(false);

    const other = await t.login(await freshUser());
    const notMine = await t.request('DELETE', `/api/v1/sessions/${other.sessionId}`, {
      token: a.accessToken,
    });
    expect(notMine.statusCode).toBe(404);
    const gone = await t.request('DELETE', `/api/v1/sessions/${b.sessionId}`, { token: a.accessToken });
    expect(gone.statusCode).toBe(204);
    expect((await t.refresh(b.refreshToken)).statusCode).toBe(401);
    expect((await t.request('GET', '/api/v1/sessions', { token: a.accessToken })).json().items).toHaveLength(
      1,
    );
  });

  it('a token past its session maximum age is 401 token_expired', async () => {
    const pair = await t.login(await freshUser());
    t.clock.advance(31 * 24 * 3600);
    const res = await t.refresh(pair.refreshToken);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('token_expired');
  });

  it('no token issued after a global rotation committed carries the old stamp', async () => {
    const users = await Promise.all(Array.from({ length: 12 }, () => freshUser()));
    const pairs = await Promise.all(users.map((email) => t.login(email)));
    const admin = await t.adminToken();
    const before = (await t.request('GET', '/api/v1/admin/security/config', { token: admin })).json();
    let rotationDone = false;
    const started: { afterRotation: boolean; gver: number | null }[] = [];

    // Each client refreshes in a loop while the rotation happens, and a few times after (bounded).
    const clients = pairs.map(async (pair) => {
      let token = pair.refreshToken;
      let afterCount = 0;
      for (let i = 0; i < 500 && afterCount < 3; i++) {
        const afterRotation = rotationDone;
        if (afterRotation) afterCount++;
        const res = await t.refresh(token);
        if (res.statusCode !== 200) {
          started.push({ afterRotation, gver: null });
          return;
        }
        token = res.json().refreshToken;
        started.push({ afterRotation, gver: claimsOf(res.json().accessToken).gver });
      }
    });
    const rotation = (async () => {
      // Once the chains are under way, so the rotation races refreshes in flight.
      await expect.poll(() => started.length, { timeout: 10_000, interval: 2 }).toBeGreaterThan(0);
      const res = await t.request('POST', '/api/v1/admin/security/rotations', {
        token: admin,
        body: { reason: 'race', gracePeriodSeconds: 600 },
      });
      expect(res.statusCode).toBe(201);
      rotationDone = true;
    })();
    await Promise.all([...clients, rotation]);

    const newVersion = before.globalMinTokenVersion + 1;
    const afterwards = started.filter((s) => s.afterRotation);
    expect(afterwards.length).toBeGreaterThan(0);
    for (const s of afterwards) expect(s.gver).toBe(newVersion);
    expect(started.every((s) => s.gver !== null)).toBe(true);
  });

  // Backends that wait on a lock `pid` holds, with the statement each is running.
  const blockedBy = async (pid: number) =>
    (
      await sql<{
        pid: number;
        query: string;
      }>`select pid, query from pg_stat_activity where ${pid} = any(pg_blocking_pids(pid))`.execute(t.tw.db)
    ).rows;
  const waitUntil = (condition: () => Promise<boolean>) =>
    expect.poll(condition, { timeout: 10_000, interval: 10, message: 'the interleaving' }).toBe(true);
  // The refresh's one write statement (KyselyRefreshTokenRepository.rotate with an expectation), after its unlocked read.
  const isRefreshWrite = (query: string) => /^(\/\* prepared \*\/)?\s*with facts as/.test(query);

  // PGlite has one connection, so this interleaving cannot happen there.
  it.runIf(target.name === 'postgres')(
    'a refresh that has read the versions holds off a rotation until it commits (deterministic interleaving)',
    async () => {
      const pair = await t.login(await freshUser());
      const admin = await t.adminToken();
      const hash = createHash('sha256').update(pair.refreshToken).digest('hex');
      let release = () => {};
      const released = new Promise<void>((r) => {
        release = r;
      });
      let signalLocked = () => {};
      const locked = new Promise<void>((r) => {
        signalLocked = r;
      });
      // Another transaction holds the token row, so the refresh stops right after reading the versions.
      let blockerPid = 0;
      const blocker = t.tw.db.transaction().execute(async (trx) => {
        blockerPid =
          (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]?.pid ?? 0;
        await trx
          .selectFrom('refresh_tokens')
          .select('id')
          .where('token_hash', '=', hash)
          .forUpdate()
          .execute();
        signalLocked();
        await released;
      });
      await locked;
      const order: string[] = [];
      const refresh = t.refresh(pair.refreshToken).then((r) => {
        order.push('refresh');
        return r;
      });
      let refreshPid = 0;
      await waitUntil(async () => {
        const waiting = (await blockedBy(blockerPid))[0];
        refreshPid = waiting?.pid ?? 0;
        // It waits in its write, having read the versions without locks and taken the config share lock.
        if (waiting !== undefined) expect(isRefreshWrite(waiting.query)).toBe(true);
        return refreshPid !== 0;
      });
      const rotation = t
        .request('POST', '/api/v1/admin/security/rotations', {
          token: admin,
          body: { reason: 'interleaving', gracePeriodSeconds: 600 },
        })
        .then((r) => {
          order.push('rotation');
          return r;
        });
      // Either the rotation queues behind the refresh (right), or it commits at once (the bug this guards).
      await waitUntil(async () => order.length > 0 || (await blockedBy(refreshPid)).length > 0);
      expect(order).toEqual([]);
      release();
      await blocker;
      const [refreshed, rotated] = await Promise.all([refresh, rotation]);
      expect(refreshed.statusCode).toBe(200);
      expect(rotated.statusCode).toBe(201);
      expect(order).toEqual(['refresh', 'rotation']);
      // It committed before the rotation, so its old stamp is legitimate; anything after carries the new one.
      expect(claimsOf(refreshed.json().accessToken).gver).toBe(rotated.json().previousVersion);
      const next = await t.refresh(refreshed.json().refreshToken);
      expect(claimsOf(next.json().accessToken).gver).toBe(rotated.json().newVersion);
    },
  );
  it.runIf(target.name === 'postgres')(
    'a user rotation that commits between the unlocked read and the write is not missed (deterministic interleaving)',
    async () => {
      const pair = await t.login(await freshUser());
      const userId: string = claimsOf(pair.accessToken).sub;
      let release = () => {};
      const released = new Promise<void>((r) => {
        release = r;
      });
      let signalLocked = () => {};
      const locked = new Promise<void>((r) => {
        signalLocked = r;
      });
      // A user rotation in flight: the refresh's unlocked read still sees the old version,
      // and its write waits for this commit on the user row's share lock.
      let blockerPid = 0;
      const blocker = t.tw.db.transaction().execute(async (trx) => {
        blockerPid =
          (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]?.pid ?? 0;
        await trx
          .updateTable('users')
          .set((eb) => ({ min_token_version: eb('min_token_version', '+', 1) }))
          .where('id', '=', userId)
          .execute();
        signalLocked();
        await released;
      });
      await locked;
      const refresh = t.refresh(pair.refreshToken);
      await waitUntil(async () => (await blockedBy(blockerPid)).some((w) => isRefreshWrite(w.query)));
      release();
      await blocker;
      const refreshed = await refresh;
      // Written with the stamp it read, it would be a 200 carrying a user version already rotated away.
      expect(refreshed.statusCode).toBe(401);
      const row = await t.tw.db
        .selectFrom('refresh_tokens')
        .select(['used_at', 'successor_id'])
        .where('token_hash', '=', createHash('sha256').update(pair.refreshToken).digest('hex'))
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ used_at: null, successor_id: null });
    },
  );
});
