import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { call, login, register } from '../support/instances.js';
import { useListeningApp } from '../support/listening-app.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../support/test-app.js';
import { FIXTURE_DIR } from './feed-fixtures.js';

/**
 * The conformance fixtures cannot drift from the server: the same kinds of operation run against
 * the real app, and what it answers and streams has the shapes the transcript shows (fields, their
 * JSON types, the event framing, the headers), ids and times aside.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A value's JSON shape: the type of each leaf, objects by key, arrays as `array`. */
const shape = (value: Json): Json => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, shape(value[key] as Json)]),
    );
  }
  return typeof value;
};

/** One SSE frame as the transcript writes it: an optional `id`, the event, one data line. */
const FRAME = /^(?:id: (\d+)\n)?event: ([a-z_]+)\ndata: (.+)$/;

interface Frame {
  readonly id: string | null;
  readonly event: string;
  readonly data: { [key: string]: Json };
}

const parseFrame = (text: string): Frame => {
  const match = FRAME.exec(text);
  if (match === null) throw new Error(`not a frame of the feed's layout: ${JSON.stringify(text)}`);
  return { id: match[1] ?? null, event: match[2] as string, data: JSON.parse(match[3] as string) };
};

/** Groups `items` by `key`, each group as its sorted, distinct `describe` strings. */
const groupShapes = <T>(items: readonly T[], key: (item: T) => string, describe: (item: T) => string) => {
  const out = new Map<string, Set<string>>();
  for (const item of items) {
    const group = out.get(key(item)) ?? new Set<string>();
    group.add(describe(item));
    out.set(key(item), group);
  }
  return Object.fromEntries([...out].map(([k, v]) => [k, [...v].sort()]));
};

/** Per kind of frame (state, heartbeat, each change kind): the shapes seen, with whether ids equal seqs. */
const frameShapes = (frames: readonly Frame[]): Record<string, string[]> => {
  return groupShapes(
    frames,
    (frame) => frame.event,
    (frame) => {
      const idRule =
        frame.id === null ? 'no id' : frame.id === String(frame.data.seq) ? 'id = data.seq' : 'id ≠ data.seq';
      const kindRule = frame.id === null || frame.data.kind === frame.event ? 'event = kind' : 'event ≠ kind';
      return JSON.stringify({ idRule, kindRule, data: shape(frame.data) });
    },
  );
};

interface FixtureStep {
  readonly type: string;
  readonly synthetic?: string;
  readonly text?: string;
  readonly event?: string;
  readonly id?: string | null;
  readonly data?: Json;
  readonly response?: {
    readonly status: number;
    readonly headers: Record<string, string>;
    readonly body?: { [key: string]: Json };
    readonly preamble?: string;
  };
}

const fixtureSteps = (): FixtureStep[] =>
  (JSON.parse(readFileSync(join(FIXTURE_DIR, 'transcript.json'), 'utf8')) as { steps: FixtureStep[] }).steps;

/** The catch-up page's shape with its changes taken out (they are compared per kind). */
const pageShape = (body: { [key: string]: Json }) => shape({ ...body, changes: [] });

const changeShapes = (changes: readonly { [key: string]: Json }[]): Record<string, string[]> => {
  return groupShapes(
    changes,
    (change) => String(change.kind),
    (change) => JSON.stringify(shape(change)),
  );
};

describe.each(testDatabases())('the feed conformance fixtures agree with the server on $name', (target) => {
  const app = useListeningApp(target, { TOKENWARDEN_FEED_HEARTBEAT_SECONDS: '1' });
  let basic = '';
  let serverPages: { [key: string]: Json }[] = [];
  let serverFrames: Frame[] = [];
  let serverStream: { status: number; headers: Headers; text: string } | null = null;

  beforeAll(async () => {
    let admin = await login(app.base, ADMIN_EMAIL, ADMIN_PASSWORD);
    const ok = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, token = admin) => {
      const res = await call(app.base, method, path, { token, ...(body === undefined ? {} : { body }) });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    const client = (await ok('POST', '/api/v1/admin/service-clients', { name: 'conformance' })) as {
      id: string;
      secret: string;
    };
    basic = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;

    // The transcript's kinds of operation, each through its public door.
    const email = `conformance-${target.name}@example.com`;
    const userId = await register(app.base, email);
    await ok('POST', `/api/v1/admin/users/${userId}/rotations`, { reason: 'conformance' });
    await ok('POST', '/api/v1/admin/security/rotations', { reason: 'conformance', gracePeriodSeconds: 20 });
    await ok('DELETE', '/api/v1/sessions/current', undefined, await login(app.base, email));
    await ok('POST', `/api/v1/admin/users/${userId}/disable`, {});
    await ok('POST', `/api/v1/admin/users/${userId}/enable`, {});
    const keys = (await ok('GET', '/api/v1/admin/signing-keys')) as {
      items: { kid: string; status: string }[];
    };
    const old = keys.items.find((k) => k.status === 'active')?.kid;
    await ok('POST', '/api/v1/admin/signing-keys/rotations', {});
    await ok('POST', `/api/v1/admin/signing-keys/${old}/retirement`, {});
    admin = '';

    // Two pages (limit 4), as the transcript's first catch-up reads.
    serverPages = [];
    for (let after = 0, more = true; more; ) {
      const res = await fetch(`${app.base}/api/v1/revocations?after=${after}&limit=4`, {
        headers: { authorization: basic },
        signal: AbortSignal.timeout(5_000),
      });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { [key: string]: Json };
      serverPages.push(page);
      after = page.lastSeq as number;
      more = page.hasMore === true;
    }

    // The stream from seq 0: the state, every change in the window, then the first heartbeat.
    // Read raw (the framing is compared byte for byte), and the socket destroyed once done.
    serverStream = await new Promise((resolve, reject) => {
      const req = httpGet(
        `${app.base}/api/v1/revocations/stream`,
        { headers: { authorization: basic, accept: 'text/event-stream', 'last-event-id': '0' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            if (!text.includes('event: heartbeat\n')) return;
            req.destroy();
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) headers.set(name, String(value));
            resolve({ status: res.statusCode ?? 0, headers, text });
          });
        },
      );
      req.setTimeout(5_000, () => req.destroy(new Error('no heartbeat within 5 s')));
      req.on('error', reject);
    });
    const text = serverStream?.text ?? '';
    const preamble = 'retry: 1000\n\n';
    serverFrames = text
      .slice(text.startsWith(preamble) ? preamble.length : 0)
      .split('\n\n')
      .filter((frame) => frame !== '')
      .map(parseFrame);
  });

  it('every change kind the server writes is in the transcript, with the same fields and types', () => {
    const fixtureChanges: { [key: string]: Json }[] = [];
    for (const step of fixtureSteps()) {
      if (step.synthetic !== undefined) continue;
      if (step.type === 'request') fixtureChanges.push(...((step.response?.body?.changes ?? []) as never[]));
      if (step.type === 'event' && step.text !== undefined) {
        const frame = parseFrame(step.text.replace(/\n\n$/, ''));
        if (frame.id !== null) fixtureChanges.push(frame.data);
      }
    }
    const served = changeShapes(serverPages.flatMap((page) => page.changes as { [key: string]: Json }[]));
    expect(Object.keys(served).sort()).toEqual([
      'global_version',
      'session_revoked',
      'signing_key_retired',
      'signing_key_rotated',
      'user_disabled',
      'user_enabled',
      'user_version',
    ]);
    expect(changeShapes(fixtureChanges)).toEqual(served);
  });

  it("the transcript's catch-up pages have the server's fields, types and headers", async () => {
    const fixturePages = fixtureSteps().filter((s) => s.type === 'request');
    const served = new Set(serverPages.map((page) => JSON.stringify(pageShape(page))));
    expect(served.size).toBe(1);
    for (const step of fixturePages) {
      expect(JSON.stringify(pageShape(step.response?.body ?? {}))).toBe([...served][0]);
    }
    const res = await fetch(`${app.base}/api/v1/revocations`, { headers: { authorization: basic } });
    await res.body?.cancel();
    for (const step of fixturePages) {
      for (const [name, value] of Object.entries(step.response?.headers ?? {})) {
        expect(res.headers.get(name), name).toBe(value);
      }
    }
  });

  it('refuses a cursor or page it cannot read (422 problem+json), never starting elsewhere', async () => {
    const refused = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${app.base}${path}`, {
        headers: { authorization: basic, ...headers },
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await res.json()) as { code?: string };
      return { status: res.status, type: res.headers.get('content-type'), code: body.code };
    };
    const problem = {
      status: 422,
      type: expect.stringContaining('application/problem+json'),
      code: 'validation_failed',
    };
    expect(await refused('/api/v1/revocations?limit=0')).toEqual(problem);
    expect(await refused('/api/v1/revocations?limit=1001')).toEqual(problem);
    expect(await refused('/api/v1/revocations?after=-1')).toEqual(problem);
    expect(await refused('/api/v1/revocations?since=5')).toEqual(problem);
    for (const id of ['abc', '-1', '1.5', '7x', '1234567890123456']) {
      expect(await refused('/api/v1/revocations/stream', { 'last-event-id': id }), id).toEqual(problem);
    }
  });

  it("the transcript's stream has the server's headers, preamble, framing and event fields", () => {
    const steps = fixtureSteps();
    const opens = steps.filter((s) => s.type === 'stream');
    expect(serverStream?.status).toBe(200);
    for (const step of opens) {
      for (const [name, value] of Object.entries(step.response?.headers ?? {})) {
        expect(serverStream?.headers.get(name), name).toBe(value);
      }
      expect(serverStream?.text.startsWith(step.response?.preamble ?? '?')).toBe(true);
    }
    const events = steps.filter((s) => s.type === 'event');
    // `text` is what is sent; `event`, `id` and `data` are it, parsed.
    for (const step of events) {
      expect(step.text?.endsWith('\n\n')).toBe(true);
      expect(parseFrame((step.text ?? '').replace(/\n\n$/, ''))).toEqual({
        id: step.id,
        event: step.event,
        data: step.data,
      });
    }
    const fixtureFrames = events
      .filter((s) => s.synthetic === undefined)
      .map((s) => parseFrame((s.text ?? '').replace(/\n\n$/, '')));
    expect(frameShapes(fixtureFrames)).toEqual(frameShapes(serverFrames));
  });
});
