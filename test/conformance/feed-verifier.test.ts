import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVerifier, type Verifier, type VerifierStatus } from '@tokenwarden/verifier';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFeedFixtures, FIXTURE_DIR } from './feed-fixtures.js';

/** The transcript's steps, as conformance/feed/README.md describes them. */
type Step =
  | { type: 'clock'; now: string }
  | {
      type: 'request';
      expect: { method: string; path: string; query: { after: string }; authorization: string };
      response: { status: number; headers: Record<string, string>; body: { changes: unknown[] } };
    }
  | {
      type: 'stream';
      expect: { method: string; path: string; lastEventId: string; authorization: string };
      response: { status: number; headers: Record<string, string>; preamble: string };
    }
  | { type: 'event'; text: string }
  | { type: 'end' }
  | {
      type: 'expect';
      note: string;
      status: { fresh: boolean; lastSeq: number; headSeq?: number; secondsSinceProof?: number };
      verdicts: { token: string; verdict: 'accept' | 'reject'; code?: string; rejection?: string }[];
    };

interface Transcript {
  consumer: {
    clientId: string;
    clientSecret: string;
    audience: string;
    issuer: string;
    maxStalenessSeconds: number;
  };
  start: string;
  steps: Step[];
}

const read = <T>(name: string): T => JSON.parse(readFileSync(join(FIXTURE_DIR, name), 'utf8')) as T;

/** A request the consumer made, waiting for the transcript to answer it. */
interface Pending {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}

/**
 * The transcript's server: the JWKS at any time; every feed request is queued for the step that
 * answers it, in order (a consumer that reconnects on its own after going stale is answered by
 * the next `request` step, as one the transcript ended would be).
 */
async function transcriptServer(jwks: unknown): Promise<{
  server: Server;
  base: string;
  next: (timeoutMs: number) => Promise<Pending>;
}> {
  const queue: Pending[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
      return;
    }
    queue.push({ req, res });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const next = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0) {
      if (Date.now() > deadline) throw new Error(`no request from the consumer within ${timeoutMs} ms`);
      await sleep(5);
    }
    return queue.shift() as Pending;
  };
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, next };
}

const statusMatches = (status: VerifierStatus, want: Extract<Step, { type: 'expect' }>['status']) =>
  status.fresh === want.fresh &&
  status.lastSeq === want.lastSeq &&
  (want.headSeq === undefined || status.headSeq === want.headSeq) &&
  (want.secondsSinceProof === undefined || status.msSinceLastEvent === want.secondsSinceProof * 1000);

describe('the Node verifier against the revocation feed conformance fixtures', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('the fixtures on disk are what test/conformance/feed-fixtures.ts builds (npm run conformance:feed -- --write)', () => {
    for (const [name, text] of Object.entries(buildFeedFixtures())) {
      expect(readFileSync(join(FIXTURE_DIR, name), 'utf8'), name).toBe(text);
    }
  });

  it('gives every verdict the transcript expects, at every checkpoint', async () => {
    const transcript = read<Transcript>('transcript.json');
    const tokens = read<Record<string, { jwt: string }>>('tokens.json');
    const { server, base, next } = await transcriptServer(read('jwks.json'));
    let clock = Date.parse(transcript.start);
    const verifier: Verifier = createVerifier({
      baseUrl: base,
      audience: transcript.consumer.audience,
      issuer: transcript.consumer.issuer,
      clientId: transcript.consumer.clientId,
      clientSecret: transcript.consumer.clientSecret,
      maxStalenessSeconds: transcript.consumer.maxStalenessSeconds,
      now: () => clock,
    });
    let stream: ServerResponse | null = null;
    closers.push(
      () => new Promise((resolve) => server.close(resolve)),
      async () => {
        stream?.end();
        server.closeAllConnections();
      },
      () => verifier.close(),
    );

    const mismatches: string[] = [];
    let checkpoints = 0;
    let verdicts = 0;
    for (const [index, step] of transcript.steps.entries()) {
      const where = `step ${index} (${step.type})`;
      switch (step.type) {
        case 'clock':
          clock = Date.parse(step.now);
          break;
        case 'request':
        case 'stream': {
          const { req, res } = await next(3_000);
          const url = new URL(req.url ?? '/', base);
          expect(`${req.method} ${url.pathname}`, where).toBe(`${step.expect.method} ${step.expect.path}`);
          expect(req.headers.authorization, where).toBe(step.expect.authorization);
          if (step.type === 'request') {
            expect(url.searchParams.get('after'), where).toBe(step.expect.query.after);
            const limit = url.searchParams.get('limit');
            if (limit !== null)
              expect(Number(limit), where).toBeGreaterThanOrEqual(step.response.body.changes.length);
            res
              .writeHead(step.response.status, step.response.headers)
              .end(JSON.stringify(step.response.body));
          } else {
            const resumeFrom = req.headers['last-event-id'] ?? url.searchParams.get('after');
            expect(resumeFrom, where).toBe(step.expect.lastEventId);
            res.writeHead(step.response.status, step.response.headers);
            res.write(step.response.preamble);
            stream = res;
          }
          break;
        }
        case 'event':
          expect(stream, `${where}: no stream open`).not.toBeNull();
          stream?.write(step.text);
          break;
        case 'end':
          stream?.end();
          stream = null;
          break;
        case 'expect': {
          checkpoints++;
          const deadline = Date.now() + 3_000;
          while (!statusMatches(verifier.status(), step.status) && Date.now() < deadline) await sleep(5);
          const status = verifier.status();
          expect({ ...status, checkpoint: step.note }, `${where}: ${JSON.stringify(status)}`).toMatchObject({
            checkpoint: step.note,
            fresh: step.status.fresh,
            lastSeq: step.status.lastSeq,
            ...(step.status.headSeq === undefined ? {} : { headSeq: step.status.headSeq }),
            ...(step.status.secondsSinceProof === undefined
              ? {}
              : { msSinceLastEvent: step.status.secondsSinceProof * 1000 }),
          });
          for (const want of step.verdicts) {
            verdicts++;
            const token = tokens[want.token];
            expect(token, `${where}: token ${want.token}`).toBeDefined();
            const got = await verifier.verify(token?.jwt ?? '');
            const verdict = got.ok
              ? { verdict: 'accept' }
              : { verdict: 'reject', code: got.code, ...(got.rejection ? { rejection: got.rejection } : {}) };
            const { token: _name, ...expected } = want;
            if (JSON.stringify(verdict) !== JSON.stringify(expected)) {
              mismatches.push(
                `${step.note} / ${want.token}: want ${JSON.stringify(expected)}, got ${JSON.stringify(verdict)}`,
              );
            }
          }
          break;
        }
      }
    }
    expect(mismatches).toEqual([]);
    // The transcript is the scenario the README describes, not an empty one.
    expect(checkpoints).toBeGreaterThanOrEqual(15);
    expect(verdicts).toBeGreaterThanOrEqual(50);
  });
});
