import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from './verifier.js';

type Mode = 'reading' | 'stuck' | 'ahead';

/** A feed server whose heartbeats keep coming every 100 ms, proving a read or not as `mode` says. */
async function fakeFeed(mode: () => Mode): Promise<{ server: Server; base: string; beats: () => number }> {
  let beats = 0;
  const state = { globalMinTokenVersion: 1, graceUntil: null, gracePeriodSeconds: 0, signingKeys: [] };
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/api/v1/revocations/stream')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const stuckAt = new Date().toISOString();
      res.write(`event: state\ndata: ${JSON.stringify({ ...state, lastSeq: 10, readAt: stuckAt })}\n\n`);
      const timer = setInterval(() => {
        beats++;
        const m = mode();
        const beat = {
          lastSeq: m === 'ahead' ? 12 : 10,
          readAt: m === 'stuck' ? stuckAt : new Date().toISOString(),
        };
        res.write(`event: heartbeat\ndata: ${JSON.stringify(beat)}\n\n`);
      }, 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (req.url?.startsWith('/api/v1/revocations')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          state,
          changes: [],
          lastSeq: 10,
          hasMore: false,
          headSeq: 10,
          accessTokenTtlSeconds: 900,
        }),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, beats: () => beats };
}

describe('the verifier judges freshness by proofs of a read, not by bytes arriving', () => {
  let verifier: Verifier | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await verifier?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it.each([
    ['a stuck read time', 'stuck'],
    ['a head ahead of what it applied (changes it was never sent)', 'ahead'],
  ] as const)('goes stale within maxStalenessSeconds on heartbeats with %s', async (_what, bad) => {
    let mode: Mode = 'reading';
    const feed = await fakeFeed(() => mode);
    server = feed.server;
    verifier = createVerifier({
      baseUrl: feed.base,
      audience: 'test',
      clientId: 'c',
      clientSecret: 's',
      maxStalenessSeconds: 1,
    });
    await verifier.ready();
    // Reading: fresh past the bound.
    await sleep(1_300);
    expect(verifier.status().fresh).toBe(true);
    mode = bad;
    const from = Date.now();
    const beatsBefore = feed.beats();
    while (verifier.status().fresh && Date.now() - from < 5_000) await sleep(20);
    const ms = Date.now() - from;
    expect(verifier.status().fresh).toBe(false);
    expect(ms).toBeLessThan(1_600);
    expect(feed.beats() - beatsBefore).toBeGreaterThan(5);
    expect(await verifier.verify('a.b.c')).toMatchObject({ ok: false, code: 'feed_stale' });
  });
});
