import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import {
  call,
  createScratchDatabase,
  type Instance,
  login,
  register,
  type ScratchDatabase,
  startInstance,
} from '../support/instances.js';
import { useListeningApp } from '../support/listening-app.js';
import { SseClient } from '../support/sse-client.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD } from '../support/test-app.js';

const heartbeats = (client: SseClient) => client.events.filter((e) => e.event === 'heartbeat').length;

describe.each(testDatabases())('revocation stream over a socket on $name', (target) => {
  // A 2 s request timeout: the stream must outlive it. Heartbeats every second.
  const app = useListeningApp(target, {
    TOKENWARDEN_REQUEST_TIMEOUT_SECONDS: '2',
    TOKENWARDEN_HEADERS_TIMEOUT_SECONDS: '2',
    TOKENWARDEN_FEED_HEARTBEAT_SECONDS: '1',
  });
  let admin = '';
  const clients: SseClient[] = [];
  let n = 0;

  beforeAll(async () => {
    admin = await login(app.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  });
  afterAll(() => {
    for (const client of clients) client.close();
  });

  const open = async (lastEventId?: string) => {
    const client = await SseClient.open(`${app.base}/api/v1/revocations/stream`, admin, lastEventId);
    clients.push(client);
    return client;
  };
  const rotateUser = async (userId: string) => {
    const res = await call(app.base, 'POST', `/api/v1/admin/users/${userId}/rotations`, {
      token: admin,
      body: { reason: 'stream test' },
    });
    expect(res.status).toBe(201);
  };
  const newUser = () => register(app.base, `stream-${target.name}-${++n}@example.com`);

  it('refuses a stream without credentials', async () => {
    const res = await fetch(`${app.base}/api/v1/revocations/stream`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('sends the state, then a change made after connecting within 1 s', async () => {
    const client = await open();
    expect(client.status).toBe(200);
    await client.waitFor((e) => e.event === 'state', 2_000);
    const user = await newUser();
    const made = Date.now();
    await rotateUser(user);
    const event = await client.waitFor((e) => e.event === 'user_version' && e.data.userId === user, 1_000);
    expect(event.at - made).toBeLessThan(1_000);
    expect(Number(event.id)).toBe(event.data.seq);
    client.close();
  });

  it('resumes with Last-Event-ID with no gap and no duplicate', async () => {
    const client = await open();
    await client.waitFor((e) => e.event === 'state', 2_000);
    const [u1, u2, u3, u4] = [await newUser(), await newUser(), await newUser(), await newUser()];
    await rotateUser(u1);
    const seen = await client.waitFor((e) => e.data.userId === u1, 2_000);
    client.close();
    // Made while no stream is open.
    await rotateUser(u2);
    await rotateUser(u3);
    const again = await open(seen.id ?? undefined);
    await rotateUser(u4);
    await again.waitFor((e) => e.data.userId === u4, 2_000);
    const resumed = again.changes();
    expect(resumed.map((e) => e.data.userId)).toEqual([u2, u3, u4]);
    const seqs = resumed.map((e) => Number(e.id));
    expect(seqs[0]).toBe(Number(seen.id) + 1);
    expect(seqs).toEqual([seqs[0], (seqs[0] ?? 0) + 1, (seqs[0] ?? 0) + 2]);
    again.close();
  });

  it('sends heartbeats and outlives the request timeout', async () => {
    const client = await open();
    const first = await client.waitFor((e) => e.event === 'heartbeat', 2_000);
    // Three more heartbeats (one a second) carry the stream past the 2-s request timeout: that
    // span of time is what is under test, so the wait is for the heartbeats, not a fixed sleep.
    await expect.poll(() => heartbeats(client), { timeout: 8_000, interval: 20 }).toBeGreaterThanOrEqual(4);
    expect(Date.now() - first.at).toBeGreaterThan(2_000);
    expect(client.ended).toBe(false);
    const user = await newUser();
    await rotateUser(user);
    await client.waitFor((e) => e.data.userId === user, 1_000);
    client.close();
  }, 15_000);

  it('starts a fresh connection at the head (state, then only new changes) and replays only for a resume', async () => {
    const past = [await newUser(), await newUser(), await newUser()];
    for (const user of past) await rotateUser(user);
    const fresh = await open();
    const state = await fresh.waitFor((e) => e.event === 'state', 2_000);
    await fresh.waitFor((e) => e.event === 'heartbeat', 2_000);
    // Nothing from before the connection: the state carries the head it starts from.
    expect(fresh.changes()).toEqual([]);
    const user = await newUser();
    await rotateUser(user);
    const next = await fresh.waitFor((e) => e.data.userId === user, 2_000);
    expect(Number(next.id)).toBeGreaterThan(Number(state.data.lastSeq));
    fresh.close();
    // A consumer that resumes (Last-Event-ID, even 0) is replayed the window from there.
    const resumed = await open('0');
    await resumed.waitFor((e) => e.event === 'heartbeat', 2_000);
    expect(resumed.changes().map((e) => e.data.userId)).toEqual(expect.arrayContaining([...past, user]));
    resumed.close();
  });

  it('sends the state once per connection, not again with the heartbeats of a resumed idle stream', async () => {
    const user = await newUser();
    await rotateUser(user);
    const client = await open('1');
    await expect.poll(() => heartbeats(client), { timeout: 8_000, interval: 20 }).toBeGreaterThanOrEqual(4);
    expect(client.events.filter((e) => e.event === 'state')).toHaveLength(1);
    client.close();
  }, 10_000);

  describe('with one stream allowed', () => {
    const capped = useListeningApp(target, { TOKENWARDEN_FEED_MAX_STREAMS: '1' });

    it('refuses a stream past the cap (503) and frees the slot when a client goes away', async () => {
      const token = await login(capped.base, ADMIN_EMAIL, ADMIN_PASSWORD);
      const url = `${capped.base}/api/v1/revocations/stream`;
      const first = await SseClient.open(url, token);
      clients.push(first);
      await first.waitFor((e) => e.event === 'state', 2_000);
      const refused = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(refused.status).toBe(503);
      first.close();
      // The server notices the closed socket, drops the listener and the timer, and frees the slot.
      let next: SseClient | undefined;
      await expect
        .poll(
          async () => {
            next?.close();
            next = await SseClient.open(url, token);
            clients.push(next);
            return next.status;
          },
          { timeout: 5_000, interval: 50 },
        )
        .toBe(200);
      next?.close();
    });
  });
});

const DATABASE_URL = process.env.DATABASE_URL ?? '';

describe.skipIf(DATABASE_URL === '')('revocation stream across two instances on PostgreSQL', () => {
  let database: ScratchDatabase | undefined;
  let a: Instance | undefined;
  let b: Instance | undefined;

  beforeAll(async () => {
    database = await createScratchDatabase(DATABASE_URL);
    const env = {
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: '4',
      TOKENWARDEN_FEED_HEARTBEAT_SECONDS: '20',
    };
    a = await startInstance('feed-a', env);
    b = await startInstance('feed-b', env);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  }, 30_000);

  it('streams from B a change made on A within 2 s (woken by NOTIFY, not the poll)', async () => {
    const baseA = a?.base ?? '';
    const baseB = b?.base ?? '';
    const adminB = await login(baseB, ADMIN_EMAIL, ADMIN_PASSWORD);
    const client = await SseClient.open(`${baseB}/api/v1/revocations/stream`, adminB);
    try {
      await client.waitFor((e) => e.event === 'state', 5_000);
      const user = await register(baseA, 'two-instances@example.com');
      const token = await login(baseA, 'two-instances@example.com', USER_PASSWORD);
      const made = Date.now();
      const res = await call(baseA, 'DELETE', '/api/v1/sessions/current', { token });
      expect(res.status).toBe(204);
      const event = await client.waitFor(
        (e) => e.event === 'session_revoked' && e.data.userId === user,
        2_000,
      );
      expect(event.at - made).toBeLessThan(2_000);
    } finally {
      client.close();
    }
  });
});
