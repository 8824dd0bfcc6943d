import type { LightMyRequestResponse } from 'fastify';
import { sql, type Transaction } from 'kysely';
import { describe, expect, it } from 'vitest';
import { TriggerGlobalTokenRotation } from '../../src/application/commands/trigger-global-token-rotation/command.js';
import { KyselySessionRepository } from '../../src/infrastructure/database/repositories/kysely-session-repository.js';
import type { Database } from '../../src/infrastructure/database/schema.js';
import { testDatabases } from '../support/databases.js';
import { useTestApp } from '../support/test-app.js';
import { claimsOf, scale } from './soak.js';

/** The server process behind a transaction, to find who waits for its locks. */
const backendPid = async (trx: Transaction<Database>) =>
  (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]?.pid ?? 0;

/**
 * Races on the write paths, through the real HTTP app (inject) over each database.
 * On PostgreSQL the pool has 10 connections, so transactions really interleave and
 * the row locks decide; on PGlite (one connection) they are serialised, which checks
 * the same invariants under a different schedule.
 */
describe.each(testDatabases())('races on $name', (target) => {
  const t = useTestApp(target);
  let n = 0;
  const freshUser = async () => {
    const email = `race${++n}-${Date.now()}@example.com`;
    const { id } = await t.register(email);
    return { id, email };
  };
  const liveTokens = async (sessionId: string) => {
    const row = await t.tw.db
      .selectFrom('refresh_tokens')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('session_id', '=', sessionId)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };
  const tokenRow = (token: string) =>
    t.tw.db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('token_hash', '=', t.tw.context.tokens.hashRefreshToken(token))
      .executeTakeFirstOrThrow();
  const globalVersion = async () =>
    (await t.tw.db.selectFrom('security_config').select('global_min_token_version').executeTakeFirstOrThrow())
      .global_min_token_version;

  /**
   * Holds the presented token's row lock from another connection, so a refresh stops
   * half-way (config share lock taken, token lock awaited) for as long as the test wants.
   */
  const holdTokenRow = async (token: string) => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: (pid: number) => void;
    const isLocked = new Promise<number>((resolve) => {
      locked = resolve;
    });
    const done = t.tw.db.transaction().execute(async (trx) => {
      const pid = await backendPid(trx);
      await trx
        .selectFrom('refresh_tokens')
        .select('id')
        .where('token_hash', '=', t.tw.context.tokens.hashRefreshToken(token))
        .forUpdate()
        .execute();
      locked(pid);
      await released;
    });
    const holder = await isLocked;
    return {
      holder,
      unlock: async () => {
        release();
        await done;
      },
    };
  };
  /**
   * The backend that waits for a lock `holder` holds, once one does: a request that has
   * reached the lock, rather than one assumed to have reached it after a fixed delay.
   */
  const waiterOn = async (holder: number): Promise<number> => {
    let waiter: number | undefined;
    await expect
      .poll(
        async () => {
          const { rows } = await sql<{
            pid: number;
          }>`select pid from pg_stat_activity where ${holder} = any(pg_blocking_pids(pid))`.execute(t.tw.db);
          waiter = rows[0]?.pid;
          return waiter;
        },
        { timeout: 10_000, interval: 10 },
      )
      .toBeDefined();
    return waiter as number;
  };
  const settled = (promise: Promise<unknown>) => {
    const state = { settled: false };
    void promise.finally(() => {
      state.settled = true;
    });
    return state;
  };

  it.runIf(target.name === 'postgres')(
    'a global rotation cannot commit between a refresh reading the version and the refresh committing',
    async () => {
      const pair = await t.login((await freshUser()).email);
      const admin = await t.adminToken();
      const g0 = await globalVersion();
      const { holder, unlock } = await holdTokenRow(pair.refreshToken);
      const refresh = t.refresh(pair.refreshToken);
      // The refresh now holds the config row FOR SHARE and waits for the token row.
      const refresher = await waiterOn(holder);
      const rotation = t.request('POST', '/api/v1/admin/security/rotations', {
        token: admin,
        body: { reason: 'interleaving test', gracePeriodSeconds: 0 },
      });
      const answered = settled(rotation);
      // The rotation's UPDATE waits for the refresh: it must not commit while the refresh is open.
      await waiterOn(refresher);
      const committedEarly = answered.settled;
      await unlock();
      expect(committedEarly).toBe(false);
      const refreshed = await refresh;
      expect(refreshed.statusCode).toBe(200);
      expect(claimsOf(refreshed.json().accessToken).gver).toBe(g0);
      expect((await rotation).statusCode).toBe(201);
      // The old-stamp successor was committed before the rotation, so the rotation kills it.
      expect((await t.refresh(refreshed.json().refreshToken)).json()).toMatchObject({
        code: 'token_rotated',
        rejection: 'global_rotation',
      });
    },
  );

  it.runIf(target.name === 'postgres')(
    'a user rotation that commits while a refresh waits for the token is seen by that refresh',
    async () => {
      const user = await freshUser();
      const pair = await t.login(user.email);
      const admin = await t.adminToken();
      const { holder, unlock } = await holdTokenRow(pair.refreshToken);
      const refresh = t.refresh(pair.refreshToken);
      await waiterOn(holder); // the refresh waits for the token row
      const rotation = await t.request('POST', `/api/v1/admin/users/${user.id}/rotations`, {
        token: admin,
        body: { reason: 'interleaving test' },
      });
      expect(rotation.statusCode).toBe(201);
      await unlock();
      // The user row is read after the token lock: the refresh sees the rotation and refuses.
      expect((await refresh).json()).toMatchObject({ code: 'token_rotated', rejection: 'user_rotation' });
    },
  );

  it.runIf(target.name === 'postgres')(
    'a global rotation cannot commit between a login reading the version and the login committing',
    async () => {
      const user = await freshUser();
      const admin = await t.adminToken();
      const g0 = await globalVersion();
      // Another transaction holds the user's login lock, so a login stops right after
      // its config share lock (the first step of the lock order), before its user lock.
      let holderPid = 0;
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const holder = t.tw.db.transaction().execute(async (trx) => {
        holderPid = await backendPid(trx);
        await new KyselySessionRepository(trx).lockLoginsOf(user.id);
        locked();
        await released;
      });
      await isLocked;
      const login = t.login(user.email);
      const loginBackend = await waiterOn(holderPid);
      const rotation = t.request('POST', '/api/v1/admin/security/rotations', {
        token: admin,
        body: { reason: 'interleaving test', gracePeriodSeconds: 0 },
      });
      const answered = settled(rotation);
      // The rotation's UPDATE of the config row waits for the login's share lock.
      await waiterOn(loginBackend);
      const committedEarly = answered.settled;
      release();
      await holder;
      expect(committedEarly).toBe(false);
      const pair = await login;
      expect(claimsOf(pair.accessToken).gver).toBe(g0);
      expect((await rotation).statusCode).toBe(201);
      // Committed before the rotation, so the rotation (no grace) kills it.
      expect((await t.refresh(pair.refreshToken)).json()).toMatchObject({
        code: 'token_rotated',
        rejection: 'global_rotation',
      });
    },
  );

  const CONCURRENT_REFRESHES = 100;
  it(`${CONCURRENT_REFRESHES} concurrent refreshes of one token: one successor row, every answer 200 with it`, async () => {
    const pair = await t.login((await freshUser()).email);
    const presented = await tokenRow(pair.refreshToken);
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT_REFRESHES }, () => t.refresh(pair.refreshToken)),
    );
    expect(answers.map((r) => r.statusCode)).toEqual(Array(CONCURRENT_REFRESHES).fill(200));
    const successors = new Set(answers.map((r) => r.json().refreshToken as string));
    expect(successors.size).toBe(1);
    const children = await t.tw.db
      .selectFrom('refresh_tokens')
      .select(['id', 'token_hash'])
      .where('parent_id', '=', presented.id)
      .execute();
    expect(children).toHaveLength(1);
    expect(children[0]?.token_hash).toBe(t.tw.context.tokens.hashRefreshToken([...successors][0] as string));
    expect(await liveTokens(pair.sessionId)).toBe(1);
    // Every answer carries its own working access token.
    expect(new Set(answers.map((r) => r.json().accessToken)).size).toBe(CONCURRENT_REFRESHES);
  });

  it('a global and a user rotation racing chains of refreshes: tokens issued after a rotation committed carry its stamp', async () => {
    const USERS = scale(3, 10);
    const CHAINS_PER_USER = scale(4, 10);
    const TOTAL = scale(240, 1200);
    const users = await Promise.all(Array.from({ length: USERS }, () => freshUser()));
    const victim = users[0]!;
    const chains = await Promise.all(
      users.flatMap((u) =>
        Array.from({ length: CHAINS_PER_USER }, async () => ({ user: u, pair: await t.login(u.email) })),
      ),
    );
    const admin = await t.adminToken();
    const g0 = await globalVersion();
    const u0 = (await t.request('GET', '/api/v1/users/me', { token: chains[0]!.pair.accessToken })).json()
      .minTokenVersion as number;

    interface Attempt {
      readonly userId: string;
      readonly sent: number;
      readonly answered: number;
      readonly res: LightMyRequestResponse;
    }
    const attempts: Attempt[] = [];
    let budget = TOTAL;
    // The chains keep going until both rotations have answered (bounded), so the race
    // happens even when a loaded machine delays the rotations past the first TOTAL refreshes.
    let rotated = false;
    let hardCap = TOTAL * 10;
    const runChain = async (chain: (typeof chains)[number]) => {
      let token = chain.pair.refreshToken;
      while ((budget-- > 0 || !rotated) && hardCap-- > 0) {
        const sent = performance.now();
        const res = await t.refresh(token);
        attempts.push({ userId: chain.user.id, sent, answered: performance.now(), res });
        if (res.statusCode !== 200) return;
        token = res.json().refreshToken;
      }
    };
    const rotations = { global: { sent: 0, answered: 0 }, user: { sent: 0, answered: 0 } };
    const rotate = async () => {
      // The rotations start once the chains are under way, so they race refreshes in flight.
      await expect.poll(() => attempts.length, { timeout: 10_000, interval: 5 }).toBeGreaterThan(0);
      rotations.global.sent = performance.now();
      const user = t.request('POST', `/api/v1/admin/users/${victim.id}/rotations`, {
        token: admin,
        body: { reason: 'race test' },
      });
      rotations.user.sent = performance.now();
      const global = await t.request('POST', '/api/v1/admin/security/rotations', {
        token: admin,
        body: { reason: 'race test', gracePeriodSeconds: 300 },
      });
      rotations.global.answered = performance.now();
      expect(global.statusCode).toBe(201);
      const u = await user;
      rotations.user.answered = performance.now();
      rotated = true;
      expect(u.statusCode).toBe(201);
      return { global: global.json(), user: u.json() };
    };
    const [results] = await Promise.all([rotate(), ...chains.map(runChain)]);
    expect(results.global.newVersion).toBe(g0 + 1);
    expect(results.user.newVersion).toBe(u0 + 1);

    // No 500 and no unexpected rejection: only the victim's chains stop, with token_rotated.
    for (const a of attempts) {
      if (a.res.statusCode === 200) continue;
      expect(a.res.statusCode, a.res.body).toBe(401);
      expect(a.res.json()).toMatchObject({ code: 'token_rotated', rejection: 'user_rotation' });
      expect(a.userId).toBe(victim.id);
    }
    const granted = attempts.filter((a) => a.res.statusCode === 200);
    expect(granted.length).toBeGreaterThan(TOTAL / 2);
    for (const a of granted) {
      const pair = a.res.json();
      const claims = claimsOf(pair.accessToken);
      // The refresh token row holds the stamps read inside the refresh transaction; the
      // access token was signed from them: they agree.
      const row = await tokenRow(pair.refreshToken);
      expect([row.global_version, row.user_version]).toEqual([claims.gver, claims.ver]);
      // Sent after the rotation answered (so after it committed): the new stamp, always.
      if (a.sent > rotations.global.answered) expect(row.global_version).toBe(g0 + 1);
      // Answered before the rotation was sent: the old one, always.
      if (a.answered < rotations.global.sent) expect(row.global_version).toBe(g0);
      if (a.userId === victim.id) {
        if (a.sent > rotations.user.answered)
          throw new Error('a victim token was refreshed after its rotation');
        expect(row.user_version).toBe(u0);
      }
    }
    // The race really happened: tokens of both stamps were issued, and the victim was
    // refreshed before its rotation and refused after it.
    const stamps = new Set(granted.map((a) => claimsOf(a.res.json().accessToken).gver));
    expect([...stamps].sort()).toEqual([g0, g0 + 1]);
    expect(granted.some((a) => a.userId === victim.id)).toBe(true);
    expect(attempts.some((a) => a.userId === victim.id && a.res.statusCode === 401)).toBe(true);
    // In the database: every token carrying the old global stamp was committed before the
    // rotation (the config row's share lock), so none of them is a successor of a new-stamp token.
    const regressions = await t.tw.db
      .selectFrom('refresh_tokens as child')
      .innerJoin('refresh_tokens as parent', 'parent.id', 'child.parent_id')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where((eb) =>
        eb.or([
          eb('child.global_version', '<', eb.ref('parent.global_version')),
          eb('child.user_version', '<', eb.ref('parent.user_version')),
        ]),
      )
      .executeTakeFirstOrThrow();
    expect(Number(regressions.n)).toBe(0);
    // Every session still has at most one live token.
    const doubled = await t.tw.db
      .selectFrom('refresh_tokens')
      .select(['session_id', (eb) => eb.fn.countAll<string>().as('n')])
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .groupBy('session_id')
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute();
    expect(doubled).toEqual([]);
  });

  it('50 concurrent global rotations move the version by exactly 50, each to its own number', async () => {
    const ROTATIONS = 50;
    const before = await globalVersion();
    const results = await Promise.all(
      Array.from({ length: ROTATIONS }, (_, i) =>
        // The command, not HTTP: an admin's access token is two behind after the second
        // rotation commits, so HTTP would (rightly) refuse some of the later ones.
        t.tw.services.triggerGlobalTokenRotation.handle(
          TriggerGlobalTokenRotation({
            triggeredBy: 'race-test',
            reason: `concurrent ${i}`,
            gracePeriodSeconds: 0,
          }),
        ),
      ),
    );
    const versions = results.map((r) => {
      if (!r.ok) throw new Error('rotation failed');
      expect(r.value.newVersion).toBe(r.value.previousVersion + 1);
      return r.value.newVersion;
    });
    expect(new Set(versions).size).toBe(ROTATIONS);
    expect(Math.min(...versions)).toBe(before + 1);
    expect(Math.max(...versions)).toBe(before + ROTATIONS);
    expect(await globalVersion()).toBe(before + ROTATIONS);
    const audit = await t.tw.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('actor', '=', 'race-test')
      .where('action', '=', 'token_rotation.global')
      .executeTakeFirstOrThrow();
    expect(Number(audit.n)).toBe(ROTATIONS);
  });

  it('50 concurrent user rotations over HTTP move the user version by exactly 50', async () => {
    const ROTATIONS = 50;
    const user = await freshUser();
    const admin = await t.adminToken();
    const answers = await Promise.all(
      Array.from({ length: ROTATIONS }, () =>
        t.request('POST', `/api/v1/admin/users/${user.id}/rotations`, {
          token: admin,
          body: { reason: 'race' },
        }),
      ),
    );
    expect(answers.map((r) => r.statusCode)).toEqual(Array(ROTATIONS).fill(201));
    const versions = answers.map((r) => r.json().newVersion as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: ROTATIONS }, (_, i) => i + 2));
    const row = await t.tw.db
      .selectFrom('users')
      .select('min_token_version')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.min_token_version).toBe(ROTATIONS + 1);
  });

  it('concurrent registrations of one email (any case): one 201, the rest 409', async () => {
    const REGISTRATIONS = scale(20, 100);
    const local = `same${Date.now()}`;
    const answers = await Promise.all(
      Array.from({ length: REGISTRATIONS }, (_, i) =>
        t.request('POST', '/api/v1/users', {
          body: {
            email: i % 2 === 0 ? `${local}@example.com` : ` ${local.toUpperCase()}@Example.COM`,
            password: 'correct horse battery',
          },
        }),
      ),
    );
    const statuses = answers.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, ...Array(REGISTRATIONS - 1).fill(409)]);
    for (const r of answers.filter((a) => a.statusCode === 409)) expect(r.json().code).toBe('email_taken');
    const rows = await t.tw.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', `${local}@example.com`)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('honest concurrent retries inside the reuse interval never revoke the family', async () => {
    const pair = await t.login((await freshUser()).email);
    // Two tabs and a lost response: the same token presented at once, then again later.
    const burst = await Promise.all(Array.from({ length: 20 }, () => t.refresh(pair.refreshToken)));
    expect(burst.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    const b = burst[0]!.json().refreshToken as string;
    // The client moves on (B → C) while a slow retry of A arrives 9 s after A's use.
    const c = (await t.refresh(b)).json().refreshToken as string;
    t.clock.advance(9);
    const late = await Promise.all([
      t.refresh(pair.refreshToken),
      t.refresh(pair.refreshToken),
      t.refresh(b),
    ]);
    expect(late.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(late[0]!.json().refreshToken).toBe(b);
    expect(late[2]!.json().refreshToken).toBe(c);
    // Exactly at the edge of the interval (10 s after A's use) it is still a retry.
    t.clock.advance(1);
    expect((await t.refresh(pair.refreshToken)).statusCode).toBe(200);
    const session = await t.tw.db
      .selectFrom('sessions')
      .select('revoked_at')
      .where('id', '=', pair.sessionId)
      .executeTakeFirstOrThrow();
    expect(session.revoked_at).toBeNull();
    expect(await liveTokens(pair.sessionId)).toBe(1);
    expect((await t.refresh(c)).statusCode).toBe(200);
  });

  it('a used token presented concurrently after the interval always revokes the family', async () => {
    const pair = await t.login((await freshUser()).email);
    const b = (await t.refresh(pair.refreshToken)).json().refreshToken as string;
    t.clock.advance(10.001);
    const attackers = await Promise.all(Array.from({ length: 20 }, () => t.refresh(pair.refreshToken)));
    const codes = attackers.map((r) => {
      expect(r.statusCode).toBe(401);
      return r.json().code as string;
    });
    // The first to lock the row detects the reuse; the rest find the family already revoked.
    expect(codes).toContain('token_reused');
    for (const code of codes) expect(['token_reused', 'token_revoked']).toContain(code);
    expect((await t.refresh(b)).json().code).toBe('token_revoked');
    expect(await liveTokens(pair.sessionId)).toBe(0);
    const session = await t.tw.db
      .selectFrom('sessions')
      .select('revoked_reason')
      .where('id', '=', pair.sessionId)
      .executeTakeFirstOrThrow();
    expect(session.revoked_reason).toBe('refresh_token_reuse');
  });
});
