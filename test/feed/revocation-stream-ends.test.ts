import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import {
  call,
  createScratchDatabase,
  type Instance,
  login,
  type ScratchDatabase,
  startInstance,
} from '../support/instances.js';
import { useListeningApp } from '../support/listening-app.js';
import { SseClient } from '../support/sse-client.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../support/test-app.js';

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function createClient(base: string, adminToken: string, name: string) {
  const created = await call(base, 'POST', '/api/v1/admin/service-clients', {
    token: adminToken,
    body: { name },
  });
  expect(created.status).toBe(201);
  return { id: created.body.id as string, secret: created.body.secret as string };
}

async function clientToken(base: string, id: string, secret: string): Promise<string> {
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const revokeClient = async (base: string, adminToken: string, id: string) => {
  const res = await call(base, 'POST', `/api/v1/admin/service-clients/${id}/revocation`, {
    token: adminToken,
    body: { reason: 'stream test' },
  });
  expect(res.status).toBe(200);
};

describe.each(testDatabases())('a revocation stream on $name', (target) => {
  // Heartbeats every second: "within a heartbeat" is measurable.
  const app = useListeningApp(target, { TOKENWARDEN_FEED_HEARTBEAT_SECONDS: '1' });
  const clients: SseClient[] = [];
  let admin = '';
  let n = 0;

  beforeAll(async () => {
    admin = await login(app.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  });
  afterAll(() => {
    for (const client of clients) client.close();
  });

  /** The app's clock to `seconds` since the epoch (forward only). */
  const advanceTo = (seconds: number) => app.clock.advance(seconds - app.clock.now().getTime() / 1000);
  const open = async (authorization: string) => {
    const client = await SseClient.open(`${app.base}/api/v1/revocations/stream`, authorization);
    clients.push(client);
    expect(client.status).toBe(200);
    await client.waitFor((e) => e.event === 'state', 5_000);
    return client;
  };

  it("sends heartbeats with the log's head and the read time, the head moving with each change", async () => {
    const client = await open(admin);
    const state = await client.waitFor((e) => e.event === 'state', 2_000);
    const page = await call(app.base, 'GET', '/api/v1/revocations?after=0', { token: admin });
    expect(state.data).toMatchObject({ lastSeq: page.body.headSeq, readAt: expect.any(String) });
    const first = await client.waitFor((e) => e.event === 'heartbeat', 3_000);
    expect(first.data.lastSeq).toBe(page.body.headSeq);
    expect(Number.isNaN(Date.parse(first.data.readAt as string))).toBe(false);
    const user = await call(app.base, 'POST', '/api/v1/users', {
      body: { email: `ends-${target.name}-${++n}@example.com`, password: 'correct horse battery' },
    });
    const rotated = await call(app.base, 'POST', `/api/v1/admin/users/${user.body.id}/rotations`, {
      token: admin,
      body: { reason: 'stream test' },
    });
    expect(rotated.status).toBe(201);
    const change = await client.waitFor(
      (e) => e.event === 'user_version' && e.data.userId === user.body.id,
      2_000,
    );
    const after = await client.waitFor((e) => e.event === 'heartbeat' && e.at > change.at, 3_000);
    expect(after.data.lastSeq).toBe(change.data.seq);
    expect(Date.parse(after.data.readAt as string)).toBeGreaterThan(Date.parse(first.data.readAt as string));
    client.close();
  });

  it('ends the streams of a service client when it is revoked, within a heartbeat', async () => {
    const { id, secret } = await createClient(app.base, admin, `revoked-${target.name}`);
    const byBasic = await open(basic(id, secret));
    const byToken = await open(await clientToken(app.base, id, secret));
    const other = await createClient(app.base, admin, `kept-${target.name}`);
    const kept = await open(basic(other.id, other.secret));
    const revoked = Date.now();
    await revokeClient(app.base, admin, id);
    for (const stream of [byBasic, byToken]) {
      expect((await stream.waitForEnd(1_500)) - revoked).toBeLessThan(1_500);
    }
    const refused = await SseClient.open(`${app.base}/api/v1/revocations/stream`, basic(id, secret));
    expect(refused.status).toBe(401);
    // Another client's stream goes on.
    await kept.waitFor((e) => e.event === 'heartbeat' && e.at > revoked + 1_000, 3_000);
    expect(kept.ended).toBe(false);
    kept.close();
  });

  it("ends a stream opened with a client-credentials token at the token's exp; a fresh token reconnects", async () => {
    const { id, secret } = await createClient(app.base, admin, `expiring-${target.name}`);
    const token = await clientToken(app.base, id, secret);
    const stream = await open(token);
    const { exp } = decodeJwt(token);
    advanceTo((exp ?? 0) - 2);
    const before = Date.now();
    await stream.waitFor((e) => e.event === 'heartbeat' && e.at > before, 3_000);
    expect(stream.ended).toBe(false);
    advanceTo((exp ?? 0) + 1);
    const expired = Date.now();
    expect((await stream.waitForEnd(2_000)) - expired).toBeLessThan(2_000);
    const again = await open(await clientToken(app.base, id, secret));
    expect(again.ended).toBe(false);
    again.close();
  });

  it("ends an admin's stream at the token's exp, and when the admin's tokens are rotated", async () => {
    const token = await login(app.base, ADMIN_EMAIL, ADMIN_PASSWORD);
    const stream = await open(token);
    const { exp } = decodeJwt(token);
    advanceTo((exp ?? 0) + 1);
    const expired = Date.now();
    expect((await stream.waitForEnd(2_000)) - expired).toBeLessThan(2_000);

    const watched = await open(await login(app.base, ADMIN_EMAIL, ADMIN_PASSWORD));
    const other = await login(app.base, ADMIN_EMAIL, ADMIN_PASSWORD);
    const me = await call(app.base, 'GET', '/api/v1/users/me', { token: other });
    const rotated = Date.now();
    const res = await call(app.base, 'POST', `/api/v1/admin/users/${me.body.id}/rotations`, {
      token: other,
      body: { reason: 'stream test' },
    });
    expect(res.status).toBe(201);
    expect((await watched.waitForEnd(2_500)) - rotated).toBeLessThan(2_500);
    admin = await login(app.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  });
});

const DATABASE_URL = process.env.DATABASE_URL ?? '';

describe.skipIf(DATABASE_URL === '')('a revoked service client across two instances on PostgreSQL', () => {
  let database: ScratchDatabase | undefined;
  let a: Instance | undefined;
  let b: Instance | undefined;

  beforeAll(async () => {
    database = await createScratchDatabase(DATABASE_URL);
    // A long heartbeat: the stream must end on the revocation's fan-out, not at the next read.
    const env = {
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: '4',
      TOKENWARDEN_FEED_HEARTBEAT_SECONDS: '5',
    };
    a = await startInstance('ends-a', env);
    b = await startInstance('ends-b', env);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  }, 30_000);

  it('ends its stream on B within a heartbeat when it is revoked on A', async () => {
    const baseA = a?.base ?? '';
    const baseB = b?.base ?? '';
    const adminA = await login(baseA, ADMIN_EMAIL, ADMIN_PASSWORD);
    const { id, secret } = await createClient(baseA, adminA, 'two-instances');
    const url = `${baseB}/api/v1/revocations/stream`;
    const byBasic = await SseClient.open(url, basic(id, secret));
    const byToken = await SseClient.open(url, await clientToken(baseB, id, secret));
    try {
      for (const stream of [byBasic, byToken]) {
        expect(stream.status).toBe(200);
        await stream.waitFor((e) => e.event === 'state', 5_000);
      }
      const revoked = Date.now();
      await revokeClient(baseA, adminA, id);
      for (const stream of [byBasic, byToken]) {
        const ms = (await stream.waitForEnd(5_000)) - revoked;
        console.log(`revoked service client: its stream on the other instance ended after ${ms} ms`);
        expect(ms).toBeLessThan(5_000);
      }
    } finally {
      byBasic.close();
      byToken.close();
    }
  });
});
