import { describe, expect, it } from 'vitest';
import type { TokenPair } from '../../src/application/token-pair.js';
import { testDatabases } from '../support/databases.js';
import { okValue } from '../support/result.js';
import { USER_PASSWORD, useTestApp } from '../support/test-app.js';

const CAP = 3;

describe.each(testDatabases())('sessions per user on $name', (target) => {
  const t = useTestApp(target, { TOKENWARDEN_MAX_SESSIONS_PER_USER: String(CAP) });
  let n = 0;
  const freshUser = async () => t.register(`capped${++n}-${Date.now()}@example.com`);
  const liveSessionIds = async (userId: string) =>
    (
      await t.tw.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .execute()
    ).map((row) => row.id);
  /** Logs in `count` times, a second apart, so each session is strictly older than the next. */
  const loginTimes = async (email: string, count: number) => {
    const pairs: TokenPair[] = [];
    for (let i = 0; i < count; i++) {
      pairs.push(await t.login(email));
      t.clock.advance(1);
    }
    return pairs;
  };

  it('revokes the oldest session when a login passes the cap, and audits it', async () => {
    const user = await freshUser();
    const [oldest, second, third] = await loginTimes(user.email, CAP);
    const fourth = await t.login(user.email);

    const refused = await t.refresh(oldest!.refreshToken);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'token_revoked' });
    // Its access token stops at once too, as after a logout.
    expect((await t.request('GET', '/api/v1/users/me', { token: oldest!.accessToken })).statusCode).toBe(401);
    for (const kept of [second!, third!, fourth]) {
      expect((await t.request('GET', '/api/v1/users/me', { token: kept.accessToken })).statusCode).toBe(200);
    }
    expect((await liveSessionIds(user.id)).sort()).toEqual(
      [second!.sessionId, third!.sessionId, fourth.sessionId].sort(),
    );

    const audit = okValue(
      await t.tw.services.listAuditEvents.execute({
        action: 'session.revoked',
        userId: user.id,
        limit: 10,
      }),
    );
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({
      actor: user.id,
      reason: 'session_limit',
      details: { sessionId: oldest!.sessionId, sessionLimit: CAP, replacedBy: fourth.sessionId },
    });
    const events = await t.tw.db
      .selectFrom('outbox')
      .select('payload')
      .where('event_type', '=', 'SessionRevoked')
      .execute();
    expect(
      events.filter((e) => (e.payload as { sessionId?: string }).sessionId === oldest!.sessionId),
    ).toHaveLength(1);
  });

  it('counts only live sessions: a logged-out session leaves room', async () => {
    const user = await freshUser();
    const pairs = await loginTimes(user.email, CAP);
    const out = await t.request('DELETE', '/api/v1/sessions/current', { token: pairs[0]!.accessToken });
    expect(out.statusCode).toBe(204);
    await t.login(user.email);
    for (const kept of pairs.slice(1)) expect((await t.refresh(kept.refreshToken)).statusCode).toBe(200);
    expect(await liveSessionIds(user.id)).toHaveLength(CAP);
  });

  it('never leaves a user above the cap when logins race', async () => {
    const user = await freshUser();
    await loginTimes(user.email, CAP);
    const logins = await Promise.all(
      Array.from({ length: 8 }, () =>
        t.request('POST', '/api/v1/sessions', { body: { email: user.email, password: USER_PASSWORD } }),
      ),
    );
    expect(logins.map((res) => res.statusCode)).toEqual(Array(8).fill(201));
    expect(await liveSessionIds(user.id)).toHaveLength(CAP);
    const audit = okValue(
      await t.tw.services.listAuditEvents.execute({
        action: 'session.revoked',
        userId: user.id,
        limit: 100,
      }),
    );
    expect(audit.items).toHaveLength(8);
    expect(new Set(audit.items.map((row) => row.details.sessionId)).size).toBe(8);
  });
});

describe.each(testDatabases())('paging session lists on $name', (target) => {
  const t = useTestApp(target, { TOKENWARDEN_MAX_SESSIONS_PER_USER: '20' });

  it('returns every session exactly once across pages, newest first, for the user and the admin', async () => {
    const user = await t.register(`paged-${Date.now()}@example.com`);
    const pairs: TokenPair[] = [];
    for (let i = 0; i < 7; i++) {
      pairs.push(await t.login(user.email));
      // Two sessions share each timestamp, so the id breaks ties across page boundaries.
      if (i % 2 === 1) t.clock.advance(1);
    }
    const me = pairs.at(-1)!;
    const admin = await t.adminToken();

    for (const [url, token] of [
      ['/api/v1/sessions', me.accessToken],
      [`/api/v1/admin/users/${user.id}/sessions`, admin],
    ] as const) {
      const seen: { id: string; createdAt: string; current: boolean }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor === null ? '?limit=2' : `?limit=2&cursor=${encodeURIComponent(cursor)}`;
        const res = await t.request('GET', `${url}${query}`, { token });
        expect(res.statusCode).toBe(200);
        const page = res.json() as { items: typeof seen; nextCursor: string | null };
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items);
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null && pages < 10);
      expect(pages).toBe(4);
      expect(seen.map((s) => s.id).sort()).toEqual(pairs.map((p) => p.sessionId).sort());
      const order = [...seen].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      expect(seen.map((s) => s.createdAt)).toEqual(order.map((s) => s.createdAt));
      expect(seen.filter((s) => s.current).map((s) => s.id)).toEqual(
        url === '/api/v1/sessions' ? [me.sessionId] : [],
      );
    }

    // Without paging parameters, a short list still comes whole, as before.
    const whole = await t.request('GET', '/api/v1/sessions', { token: me.accessToken });
    expect(whole.json()).toMatchObject({ nextCursor: null });
    expect(whole.json().items).toHaveLength(7);
  });

  it('refuses a cursor it did not issue with a 422', async () => {
    const user = await t.register(`badcursor-${Date.now()}@example.com`);
    const pair = await t.login(user.email);
    const res = await t.request('GET', '/api/v1/sessions?cursor=not-a-cursor', { token: pair.accessToken });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'validation_failed' });
  });
});
