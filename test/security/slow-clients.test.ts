import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useListeningApp } from '../support/listening-app.js';

const [pglite] = testDatabases();

interface Client {
  readonly socket: Socket;
  /** Resolves when the server ends the connection: after how many ms, and what it sent first. */
  readonly closed: Promise<{ afterMs: number; received: string }>;
}

function open(base: string): Promise<Client> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const started = performance.now();
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    const closed = new Promise<{ afterMs: number; received: string }>((done) => {
      socket.on('close', () => done({ afterMs: performance.now() - started, received }));
    });
    socket.once('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

/** The close, or null if the connection is still open after `ms`. */
async function closedWithin(client: Client, ms: number) {
  return Promise.race([client.closed, sleep(ms).then(() => null)]);
}

const LOGIN_HEAD = (length: number) =>
  'POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
  `Content-Length: ${length}\r\n\r\n`;

describe('slow clients over a real socket (request timeout 2 s, headers timeout 1 s)', () => {
  const t = useListeningApp(pglite!, {
    TOKENWARDEN_REQUEST_TIMEOUT_SECONDS: '2',
    TOKENWARDEN_HEADERS_TIMEOUT_SECONDS: '1',
    TOKENWARDEN_KEEP_ALIVE_TIMEOUT_SECONDS: '1',
  });

  it('headers, part of a body, then silence: answered 408 and closed within the bound', async () => {
    const client = await open(t.base);
    client.socket.write(`${LOGIN_HEAD(200)}{"email":"slow@example.com",`);
    const closed = await closedWithin(client, 6_000);
    client.socket.destroy();
    expect(closed, 'the connection stayed open').not.toBeNull();
    // Closed within the 2 s configured (ends half a second early), with room for a busy machine.
    expect(closed?.afterMs).toBeLessThan(3_000);
    expect(closed?.afterMs).toBeGreaterThan(1_000);
    expect(closed?.received).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a body dripping one byte every 200 ms is cut off too', async () => {
    const client = await open(t.base);
    client.socket.write(LOGIN_HEAD(1_000));
    let sent = 0;
    const drip = setInterval(() => {
      if (!client.socket.destroyed) client.socket.write('x');
      sent += 1;
    }, 200);
    const closed = await closedWithin(client, 6_000);
    clearInterval(drip);
    client.socket.destroy();
    expect(closed, `the connection stayed open after ${sent} bytes`).not.toBeNull();
    expect(closed?.afterMs).toBeLessThan(5_000);
  });

  it('headers that never end are cut off by the headers timeout', async () => {
    const client = await open(t.base);
    client.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const closed = await closedWithin(client, 6_000);
    client.socket.destroy();
    expect(closed, 'the connection stayed open').not.toBeNull();
    expect(closed?.afterMs).toBeLessThan(4_000);
  });

  it('a connection that never sends a byte is closed within the request timeout', async () => {
    const client = await open(t.base);
    const closed = await closedWithin(client, 6_000);
    client.socket.destroy();
    expect(closed, 'the connection stayed open').not.toBeNull();
    expect(closed?.afterMs).toBeLessThan(3_500);
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const client = await open(t.base);
    client.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const closed = await closedWithin(client, 6_000);
    client.socket.destroy();
    expect(closed, 'the connection stayed open').not.toBeNull();
    expect(closed?.received).toMatch(/^HTTP\/1\.1 200/);
    expect(closed?.afterMs).toBeLessThan(4_000);
  });
});

describe('the connection cap (TOKENWARDEN_MAX_CONNECTIONS=4)', () => {
  const t = useListeningApp(pglite!, { TOKENWARDEN_MAX_CONNECTIONS: '4' });
  const connections = () =>
    new Promise<number>((resolve, reject) =>
      t.tw.app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );

  it('closes connections above the cap at once, and accepts again once one is gone', async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => open(t.base)));
    for (const client of held) client.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // The server has accepted the four before the fifth comes.
    await expect.poll(connections, { timeout: 10_000, interval: 10 }).toBe(4);
    const extra = await open(t.base);
    extra.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const refused = await closedWithin(extra, 2_000);
    expect(refused, 'the fifth connection was served').not.toBeNull();
    expect(refused?.received).toBe('');
    for (const client of held) expect(await closedWithin(client, 0)).toBeNull();

    held[0]?.socket.destroy();
    await held[0]?.closed;
    await expect.poll(connections, { timeout: 10_000, interval: 10 }).toBe(3);
    const res = await fetch(`${t.base}/health`, { headers: { connection: 'close' } });
    expect(res.status).toBe(200);
    for (const client of held) client.socket.destroy();
  });
});
