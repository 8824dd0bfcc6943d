import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { call, login } from '../support/instances.js';
import { useListeningApp } from '../support/listening-app.js';
import { SseClient } from '../support/sse-client.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../support/test-app.js';

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe.each(testDatabases())('revocation stream caps on $name', (target) => {
  // 6 streams per instance, 2 per client: one client alone could fill the instance three times over.
  const app = useListeningApp(target, {
    TOKENWARDEN_FEED_HEARTBEAT_SECONDS: '1',
    TOKENWARDEN_FEED_MAX_STREAMS: '6',
    TOKENWARDEN_FEED_MAX_STREAMS_PER_CLIENT: '2',
  });
  const opened: SseClient[] = [];
  let admin = '';
  let n = 0;

  beforeAll(async () => {
    admin = await login(app.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  });
  afterAll(() => {
    for (const client of opened) client.close();
  });

  const newClient = async () => {
    const created = await call(app.base, 'POST', '/api/v1/admin/service-clients', {
      token: admin,
      body: { name: `caps-${target.name}-${++n}` },
    });
    expect(created.status).toBe(201);
    return basic(created.body.id as string, created.body.secret as string);
  };
  const open = async (authorization: string) => {
    const stream = await SseClient.open(`${app.base}/api/v1/revocations/stream`, authorization);
    opened.push(stream);
    if (stream.status === 200) await stream.waitFor((e) => e.event === 'state', 2_000);
    return stream;
  };

  it('one client cannot take every slot: past its cap its oldest stream ends, and the next client gets in', async () => {
    const greedy = await newClient();
    const streams: SseClient[] = [];
    for (let i = 0; i < 6; i++) {
      const stream = await open(greedy);
      // Never refused: a reconnect while an old stream still looks open must get through.
      expect(stream.status, `stream ${i + 1}`).toBe(200);
      streams.push(stream);
    }
    // The four oldest were ended by the newer ones; the two newest stay.
    for (const old of streams.slice(0, 4)) await old.waitForEnd(2_000);
    expect(streams.slice(4).map((s) => s.ended)).toEqual([false, false]);

    const next = await open(await newClient());
    expect(next.status).toBe(200);
    await next.waitFor((e) => e.event === 'heartbeat', 3_000);
    expect(streams.slice(4).map((s) => s.ended)).toEqual([false, false]);
    for (const stream of opened) stream.close();
  });

  it('caps an admin the same way, per admin user', async () => {
    const first = await open(admin);
    const second = await open(admin);
    const third = await open(admin);
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
    await first.waitForEnd(2_000);
    expect([second.ended, third.ended]).toEqual([false, false]);
    for (const stream of opened) stream.close();
  });

  it('names the cap that was hit when the instance is full', async () => {
    const full: SseClient[] = [];
    for (let i = 0; i < 3; i++) {
      const client = await newClient();
      full.push(await open(client), await open(client));
    }
    expect(full.map((s) => s.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const refused = await open(await newClient());
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.text)).toMatchObject({
      code: 'service_unavailable',
      detail: expect.stringContaining('TOKENWARDEN_FEED_MAX_STREAMS = 6'),
    });
    for (const stream of opened) stream.close();
  });
});
