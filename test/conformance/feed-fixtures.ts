import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FeedChange } from '../../src/http/wire-types.js';

/**
 * The revocation feed's conformance fixtures (conformance/feed/README.md): one scenario, written
 * out as the exact responses and events a server sends, the tokens a consumer is shown and the
 * verdict it must give for each at each checkpoint. Built here, deterministically (Ed25519
 * signatures are deterministic, RFC 8032), and written by `npm run conformance:feed -- --write`;
 * the conformance tests check the files on disk are what this builds.
 */

/** The directory the fixtures live in (language-neutral: no TypeScript in it). */
export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../conformance/feed');

const T0 = Date.parse('2026-12-06T12:00:00.000Z');
const TTL = 900;
const SKEW = 60;
const CLIENT = { id: 'conformance-client', secret: 'conformance-secret-test-only' };
const AUTHORIZATION = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;
const AUDIENCE = 'tokenwarden';
const ISSUER = 'https://auth.example.test';

const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const user = (n: number) => `10000000-0000-4000-8000-00000000000${n}`;
const session = (n: number) => `20000000-0000-4000-8000-00000000000${n}`;

const ALICE = user(1);
const BOB = user(2);
const CAROL = user(3);
const DAVE = user(4);
const ERIN = user(5);

interface PrivateJwk {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly d: string;
  readonly kid: string;
  readonly alg: string;
  readonly use: string;
}

function privateKeys(): readonly PrivateJwk[] {
  const file = join(FIXTURE_DIR, 'TEST-ONLY-signing-keys.private.jwks.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { keys: PrivateJwk[] }).keys;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * A feed change (the server's wire type) as the fixture files hold it: details as plain JSON, and
 * any kind, since the transcript ends with one the server does not send (a consumer must fail closed).
 */
type Change = Omit<FeedChange, 'details' | 'kind'> & {
  readonly kind: string;
  readonly details: { [key: string]: Json };
};

const change = (
  seq: number,
  kind: string,
  names: { userId?: string; sessionId?: string; kid?: string },
  details: { [key: string]: Json },
  occurredAt: string,
): Change => ({
  seq,
  kind,
  userId: names.userId ?? null,
  sessionId: names.sessionId ?? null,
  kid: names.kid ?? null,
  details,
  occurredAt,
});

/** A verdict: accepted, or refused with the code (and, for `token_rotated`, which rotation). */
type Verdict =
  | { readonly token: string; readonly verdict: 'accept' }
  | {
      readonly token: string;
      readonly verdict: 'reject';
      readonly code: string;
      readonly rejection?: string;
    };

const accept = (token: string): Verdict => ({ token, verdict: 'accept' });
const reject = (token: string, code: string, rejection?: string): Verdict =>
  rejection === undefined
    ? { token, verdict: 'reject', code }
    : { token, verdict: 'reject', code, rejection };
const stale = (...tokens: string[]): Verdict[] => tokens.map((t) => reject(t, 'feed_stale'));

/** What a consumer reports at a checkpoint: waited for before the verdicts are asked. */
interface Status {
  readonly fresh: boolean;
  readonly lastSeq: number;
  readonly headSeq?: number;
  readonly secondsSinceProof?: number;
}

type Step =
  | { readonly type: 'clock'; readonly now: string }
  | {
      readonly type: 'request';
      readonly expect: {
        readonly method: 'GET';
        readonly path: string;
        readonly query: { readonly after: string };
        readonly authorization: string;
      };
      readonly response: {
        readonly status: number;
        readonly headers: Record<string, string>;
        readonly body: Json;
      };
    }
  | {
      readonly type: 'stream';
      readonly expect: {
        readonly method: 'GET';
        readonly path: string;
        readonly lastEventId: string;
        readonly authorization: string;
      };
      readonly response: {
        readonly status: number;
        readonly headers: Record<string, string>;
        readonly preamble: string;
      };
    }
  | {
      readonly type: 'event';
      readonly event: string;
      readonly id: string | null;
      readonly data: Json;
      readonly text: string;
      readonly synthetic?: string;
    }
  | { readonly type: 'end' }
  | {
      readonly type: 'expect';
      readonly note: string;
      readonly status: Status;
      readonly verdicts: readonly Verdict[];
    };

interface ServerState {
  globalMinTokenVersion: number;
  graceUntil: string | null;
  gracePeriodSeconds: number;
  signingKeys: { kid: string; status: 'active' | 'verifying' | 'retired' }[];
}

/** The scenario: four connections, every kind of change, three ways of going stale, one unknown kind. */
function steps(): Step[] {
  const out: Step[] = [];
  const state: ServerState = {
    globalMinTokenVersion: 3,
    graceUntil: at(-100),
    gracePeriodSeconds: 300,
    signingKeys: [{ kid: 'k1-test-only', status: 'active' }],
  };
  const snapshot = (): { [key: string]: Json } => JSON.parse(JSON.stringify(state));
  const clock = (seconds: number) => out.push({ type: 'clock', now: at(seconds) });
  const page = (
    after: number,
    changes: Change[],
    lastSeq: number,
    hasMore: boolean,
    head: number,
    now: number,
  ) =>
    out.push({
      type: 'request',
      expect: {
        method: 'GET',
        path: '/api/v1/revocations',
        query: { after: String(after) },
        authorization: AUTHORIZATION,
      },
      response: {
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
        body: {
          state: snapshot(),
          changes: changes as unknown as Json[],
          lastSeq,
          hasMore,
          headSeq: head,
          windowStart: at(now - TTL - SKEW),
          accessTokenTtlSeconds: TTL,
        },
      },
    });
  const event = (name: string, id: number | null, data: { [key: string]: Json }, synthetic?: string) =>
    out.push({
      type: 'event',
      event: name,
      id: id === null ? null : String(id),
      data,
      text: `${id === null ? '' : `id: ${id}\n`}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`,
      ...(synthetic === undefined ? {} : { synthetic }),
    });
  const send = (c: Change, synthetic?: string) =>
    event(c.kind, c.seq, c as unknown as { [key: string]: Json }, synthetic);
  const heartbeat = (lastSeq: number, readAt: number) =>
    event('heartbeat', null, { lastSeq, readAt: at(readAt) });
  const stream = (lastEventId: number, head: number, now: number, backlog: Change[] = []) => {
    out.push({
      type: 'stream',
      expect: {
        method: 'GET',
        path: '/api/v1/revocations/stream',
        lastEventId: String(lastEventId),
        authorization: AUTHORIZATION,
      },
      response: {
        status: 200,
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
          connection: 'close',
        },
        preamble: 'retry: 1000\n\n',
      },
    });
    event('state', null, { ...snapshot(), accessTokenTtlSeconds: TTL, lastSeq: head, readAt: at(now) });
    for (const c of backlog) send(c);
    heartbeat(head, now);
  };
  const expect = (note: string, status: Status, verdicts: Verdict[]) =>
    out.push({ type: 'expect', note, status, verdicts });

  // Connection 1: a consumer starting afresh reads the window in two pages (seqs 1–4 are older than
  // the window, left out), then opens the stream from the last page's lastSeq.
  clock(0);
  page(0, [change(5, 'user_version', { userId: ALICE }, { minTokenVersion: 2 }, at(-600))], 5, true, 7, 0);
  page(
    5,
    [
      change(6, 'session_revoked', { userId: BOB, sessionId: session(8) }, { reason: 'logout' }, at(-300)),
      change(
        7,
        'global_version',
        {},
        { globalMinTokenVersion: 3, previousVersion: 2, graceUntil: at(-100) },
        at(-120),
      ),
    ],
    7,
    false,
    7,
    0,
  );
  stream(7, 7, 0);
  expect('caught up: the window and the state applied', { fresh: true, lastSeq: 7 }, [
    reject('alice-s1-v1-g3', 'token_rotated', 'user_rotation'),
    accept('alice-s1-v2-g3'),
    accept('alice-s1-v2-g3-short'),
    reject('alice-s1-v3-g3', 'feed_stale'),
    accept('bob-s3-v1-g3'),
    reject('bob-s3-v1-g2', 'token_rotated', 'global_rotation'),
    reject('bob-s8-v1-g3', 'token_revoked'),
    reject('bob-s3-v1-g4', 'feed_stale'),
    accept('carol-s4-v1-g3'),
    accept('dave-s5-v1-g3'),
    reject('expired', 'token_expired'),
    reject('bad-signature', 'token_invalid'),
    reject('wrong-audience', 'token_invalid'),
    reject('wrong-issuer', 'token_invalid'),
    reject('wrong-typ', 'token_invalid'),
    reject('unknown-kid', 'token_invalid'),
    reject('lifetime-above-ttl', 'token_invalid'),
    reject('issued-in-future', 'token_invalid'),
    reject('missing-sid', 'token_invalid'),
  ]);

  // A global rotation with a 20 s grace window: one behind is accepted until graceUntil.
  state.globalMinTokenVersion = 4;
  state.graceUntil = at(20);
  send(
    change(
      8,
      'global_version',
      {},
      { globalMinTokenVersion: 4, previousVersion: 3, graceUntil: at(20) },
      at(0),
    ),
  );
  expect('global rotation 3 → 4, grace until +20 s', { fresh: true, lastSeq: 8 }, [
    accept('bob-s3-v1-g3'),
    reject('bob-s3-v1-g2', 'token_rotated', 'global_rotation'),
    accept('bob-s3-v1-g4'),
    accept('alice-s1-v2-g3'),
  ]);

  send(change(9, 'user_version', { userId: BOB }, { minTokenVersion: 2 }, at(0)));
  send(change(10, 'session_revoked', { userId: ALICE, sessionId: session(2) }, { reason: 'logout' }, at(0)));
  send(change(11, 'user_disabled', { userId: CAROL }, { minTokenVersion: 1 }, at(0)));
  expect('a user rotation, a logout, a disabled user', { fresh: true, lastSeq: 11 }, [
    reject('bob-s3-v1-g4', 'token_rotated', 'user_rotation'),
    accept('bob-s3-v2-g4'),
    accept('bob-s3-v2-g3'),
    reject('alice-s2-v2-g4', 'token_revoked'),
    accept('alice-s1-v2-g4'),
    reject('carol-s4-v1-g3', 'token_revoked'),
  ]);

  clock(15);
  heartbeat(11, 15);
  expect(
    'a heartbeat whose readAt moved on proves a read',
    { fresh: true, lastSeq: 11, secondsSinceProof: 0 },
    [accept('bob-s3-v2-g3')],
  );
  clock(21);
  expect('the grace window is over (graceUntil +20 s)', { fresh: true, lastSeq: 11, secondsSinceProof: 6 }, [
    reject('bob-s3-v2-g3', 'token_rotated', 'global_rotation'),
    accept('bob-s3-v2-g4'),
  ]);

  // A signing-key rotation, then the old key retired at once: its tokens are refused although the
  // JWKS the consumer fetches still lists it.
  state.signingKeys = [
    { kid: 'k2-test-only', status: 'active' },
    { kid: 'k1-test-only', status: 'verifying' },
  ];
  send(
    change(
      12,
      'signing_key_rotated',
      { kid: 'k2-test-only' },
      { previousKid: 'k1-test-only', retiredKids: [] },
      at(21),
    ),
  );
  expect('a new signing key', { fresh: true, lastSeq: 12 }, [
    accept('alice-s1-v2-g4-k2'),
    accept('alice-s1-v2-g4'),
  ]);
  state.signingKeys = [
    { kid: 'k2-test-only', status: 'active' },
    { kid: 'k1-test-only', status: 'retired' },
  ];
  send(change(13, 'signing_key_retired', { kid: 'k1-test-only' }, { replacedBy: null }, at(21)));
  expect('the old signing key retired', { fresh: true, lastSeq: 13 }, [
    reject('alice-s1-v2-g4', 'token_revoked'),
    accept('alice-s1-v2-g4-k2'),
  ]);

  // Staleness 1: no proof of a read for more than maxStalenessSeconds (30) since +15.
  clock(45);
  expect('30 s without a proof: still fresh (stale is strictly more)', { fresh: true, lastSeq: 13 }, [
    accept('alice-s1-v2-g4-k2'),
    // Expired at +30 and of a retired key: the key is checked first, whether the token was seen before or not.
    reject('alice-s1-v2-g3-short', 'token_revoked'),
  ]);
  clock(46);
  expect('31 s without a heartbeat: every token is refused', { fresh: false, lastSeq: 13 }, [
    ...stale('alice-s1-v2-g4-k2', 'bob-s3-v2-g4', 'bad-signature', 'expired'),
  ]);
  out.push({ type: 'end' });

  // Connection 2: resume from the cursor. A change made while no stream was open comes with the
  // catch-up page; one committed between the page and the stream comes on the stream, after the state.
  page(13, [change(14, 'user_version', { userId: DAVE }, { minTokenVersion: 2 }, at(46))], 14, false, 14, 46);
  stream(14, 16, 46, [
    change(15, 'user_version', { userId: CAROL }, { minTokenVersion: 2 }, at(46)),
    change(16, 'user_enabled', { userId: CAROL }, { minTokenVersion: 2 }, at(46)),
  ]);
  expect('resumed from seq 13: the changes made meanwhile are applied', { fresh: true, lastSeq: 16 }, [
    reject('dave-s5-v1-g4-k2', 'token_rotated', 'user_rotation'),
    accept('dave-s5-v2-g4-k2'),
    accept('alice-s1-v2-g4-k2'),
    reject('carol-s4-v1-g4-k2', 'token_rotated', 'user_rotation'),
    accept('carol-s7-v2-g4-k2'),
  ]);

  // Staleness 2: heartbeats keep coming but their readAt does not move on (a stuck instance).
  clock(66);
  heartbeat(16, 46);
  send(change(17, 'user_version', { userId: ALICE }, { minTokenVersion: 3 }, at(66)));
  expect(
    'a heartbeat with the same readAt is no proof; a change is none either',
    { fresh: true, lastSeq: 17, secondsSinceProof: 20 },
    [reject('alice-s1-v2-g4-k2', 'token_rotated', 'user_rotation'), accept('alice-s1-v3-g4-k2')],
  );
  clock(77);
  expect('31 s since the last heartbeat that moved readAt on', { fresh: false, lastSeq: 17 }, [
    ...stale('alice-s1-v3-g4-k2'),
  ]);
  out.push({ type: 'end' });

  // Connection 3: nothing new; then staleness 3: the head a heartbeat names stays ahead of what
  // arrived (seq 18 is lost on the way) for more than maxStalenessSeconds.
  page(17, [], 17, false, 17, 77);
  stream(17, 17, 77);
  expect('resumed, nothing new', { fresh: true, lastSeq: 17 }, [accept('alice-s1-v3-g4-k2')]);
  clock(78);
  heartbeat(18, 78);
  expect(
    'the head is ahead of what arrived, for 0 s',
    { fresh: true, lastSeq: 17, headSeq: 18, secondsSinceProof: 0 },
    [accept('alice-s1-v3-g4-k2')],
  );
  clock(98);
  heartbeat(18, 98);
  expect(
    'ahead for 20 s, heartbeats still proving reads',
    { fresh: true, lastSeq: 17, headSeq: 18, secondsSinceProof: 0 },
    [accept('alice-s1-v3-g4-k2')],
  );
  clock(109);
  expect(
    'ahead for 31 s: stale although the last proof is 11 s old',
    { fresh: false, lastSeq: 17, headSeq: 18 },
    [...stale('alice-s1-v3-g4-k2')],
  );
  out.push({ type: 'end' });

  // Connection 4: the catch-up brings the change the stream lost.
  page(
    17,
    [change(18, 'session_revoked', { userId: ALICE, sessionId: session(1) }, { reason: 'revoked' }, at(78))],
    18,
    false,
    18,
    109,
  );
  stream(18, 18, 109);
  // An event with no id is not a change: a newer server may send other events; nothing to apply,
  // and the cursor stays where it is.
  clock(110);
  event('notice', null, { message: 'an event this protocol version does not define' }, 'no server sends it');
  heartbeat(18, 110);
  expect(
    'the lost change, read through the catch-up page; an unknown event ignored',
    {
      fresh: true,
      lastSeq: 18,
      headSeq: 18,
      secondsSinceProof: 0,
    },
    [reject('alice-s1-v3-g4-k2', 'token_revoked'), accept('erin-s6-v1-g4-k2')],
  );

  // A kind this consumer does not know: it cannot tell which tokens it concerns, so it refuses
  // every token until the change is older than the window (TTL + 60 s).
  send(
    change(
      19,
      'session_frozen',
      { userId: ERIN, sessionId: session(6) },
      { reason: 'hypothetical' },
      at(109),
    ),
    'no server emits this kind: it stands for one a newer server adds',
  );
  expect('an unknown kind: fail closed', { fresh: false, lastSeq: 19 }, [
    ...stale('erin-s6-v1-g4-k2', 'dave-s5-v2-g4-k2'),
  ]);
  out.push({ type: 'end' });
  return out;
}

interface TokenSpec {
  readonly note: string;
  readonly kid?: string;
  /** The key that signs, when not the one `kid` names. */
  readonly signWith?: string;
  readonly header?: Record<string, string>;
  readonly claims: Record<string, unknown>;
  readonly drop?: readonly string[];
  readonly tamper?: boolean;
}

const tokenClaims = (sub: string, sid: number, ver: number, gver: number, iat = -60) => ({
  sub,
  sid: session(sid),
  ver,
  gver,
  iat: Math.floor(T0 / 1000) + iat,
  exp: Math.floor(T0 / 1000) + iat + TTL,
});

function tokenSpecs(): Record<string, TokenSpec> {
  const k2 = { kid: 'k2-test-only' };
  return {
    'alice-s1-v1-g3': { note: 'alice before her user rotation to 2', claims: tokenClaims(ALICE, 1, 1, 3) },
    'alice-s1-v2-g3': { note: 'alice after it, global version 3', claims: tokenClaims(ALICE, 1, 2, 3) },
    'alice-s1-v2-g3-short': {
      note: 'alice, signed by k1, expiring at +30 s',
      claims: { ...tokenClaims(ALICE, 1, 2, 3), exp: Math.floor(T0 / 1000) + 30 },
    },
    'alice-s1-v3-g3': {
      note: 'a user version the feed has not shown yet',
      claims: tokenClaims(ALICE, 1, 3, 3),
    },
    'alice-s1-v2-g4': { note: 'alice, global version 4, signed by k1', claims: tokenClaims(ALICE, 1, 2, 4) },
    'alice-s2-v2-g4': {
      note: "alice's second session, logged out at seq 10",
      claims: tokenClaims(ALICE, 2, 2, 4),
    },
    'alice-s1-v2-g4-k2': { note: 'alice, signed by k2', ...k2, claims: tokenClaims(ALICE, 1, 2, 4, -10) },
    'alice-s1-v3-g4-k2': {
      note: 'alice after her second rotation',
      ...k2,
      claims: tokenClaims(ALICE, 1, 3, 4, 60),
    },
    'bob-s3-v1-g2': { note: 'two global versions behind', claims: tokenClaims(BOB, 3, 1, 2, -300) },
    'bob-s3-v1-g3': { note: 'one global version behind after seq 8', claims: tokenClaims(BOB, 3, 1, 3) },
    'bob-s3-v1-g4': {
      note: 'a global version the feed has not shown yet, then bob before his rotation',
      claims: tokenClaims(BOB, 3, 1, 4),
    },
    'bob-s3-v2-g3': {
      note: 'bob after his rotation, one global version behind',
      claims: tokenClaims(BOB, 3, 2, 3),
    },
    'bob-s3-v2-g4': { note: 'bob after his rotation', claims: tokenClaims(BOB, 3, 2, 4) },
    'bob-s8-v1-g3': {
      note: "bob's session revoked inside the window (seq 6)",
      claims: tokenClaims(BOB, 8, 1, 3),
    },
    'carol-s4-v1-g3': { note: 'carol, disabled at seq 11', claims: tokenClaims(CAROL, 4, 1, 3) },
    'dave-s5-v1-g3': { note: 'dave, before anything happens to him', claims: tokenClaims(DAVE, 5, 1, 3) },
    'dave-s5-v1-g4-k2': {
      note: 'dave before his rotation at seq 14',
      ...k2,
      claims: tokenClaims(DAVE, 5, 1, 4, -5),
    },
    'dave-s5-v2-g4-k2': { note: 'dave after it', ...k2, claims: tokenClaims(DAVE, 5, 2, 4, 40) },
    'carol-s4-v1-g4-k2': {
      note: 'carol before she was enabled again (enabling rotates)',
      ...k2,
      claims: tokenClaims(CAROL, 4, 1, 4, -5),
    },
    'carol-s7-v2-g4-k2': {
      note: 'carol after she logged in again',
      ...k2,
      claims: tokenClaims(CAROL, 7, 2, 4, 46),
    },
    'erin-s6-v1-g4-k2': {
      note: 'erin, untouched until the unknown kind',
      ...k2,
      claims: tokenClaims(ERIN, 6, 1, 4, 100),
    },
    expired: { note: 'exp one second before the start', claims: tokenClaims(BOB, 3, 1, 3, -TTL - 1) },
    'bad-signature': {
      note: 'a valid token with its signature altered',
      claims: tokenClaims(BOB, 3, 1, 3),
      tamper: true,
    },
    'wrong-audience': {
      note: 'aud is not the consumer audience',
      claims: { ...tokenClaims(BOB, 3, 1, 3), aud: 'another-api' },
    },
    'wrong-issuer': {
      note: 'iss is not the configured issuer',
      claims: { ...tokenClaims(BOB, 3, 1, 3), iss: 'https://evil.example.test' },
    },
    'wrong-typ': { note: 'typ JWT, not at+jwt', header: { typ: 'JWT' }, claims: tokenClaims(BOB, 3, 1, 3) },
    'unknown-kid': {
      note: 'a kid the JWKS does not list',
      kid: 'k9-unknown',
      signWith: 'k1-test-only',
      claims: tokenClaims(BOB, 3, 1, 3),
    },
    'lifetime-above-ttl': {
      note: 'exp - iat above the TTL the feed gives (900 s)',
      claims: { ...tokenClaims(BOB, 3, 1, 3), exp: Math.floor(T0 / 1000) + 3600 },
    },
    'issued-in-future': {
      note: 'iat more than 30 s ahead of the consumer clock',
      claims: tokenClaims(BOB, 3, 1, 3, 120),
    },
    'missing-sid': { note: 'no sid claim', claims: tokenClaims(BOB, 3, 1, 3), drop: ['sid'] },
  };
}

function signToken(
  spec: TokenSpec,
  keys: readonly PrivateJwk[],
  n: number,
): { jwt: string; header: Json; claims: Json } {
  const kid = spec.kid ?? 'k1-test-only';
  const jwk = keys.find((k) => k.kid === (spec.signWith ?? kid));
  if (jwk === undefined) throw new Error(`no test key ${spec.signWith ?? kid}`);
  const header = { alg: 'EdDSA', typ: 'at+jwt', kid, ...spec.header };
  const claims: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    client_id: 'tokenwarden',
    jti: `30000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    role: 'user',
    ...spec.claims,
  };
  for (const name of spec.drop ?? []) delete claims[name];
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${b64(header)}.${b64(claims)}`;
  const key = createPrivateKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d }, format: 'jwk' });
  const signature = sign(null, Buffer.from(input), key);
  if (spec.tamper === true) signature[0] = (signature[0] ?? 0) ^ 0xff;
  return { jwt: `${input}.${signature.toString('base64url')}`, header, claims: claims as Json };
}

/** Every fixture file, by name, as the text to write (2-space JSON, a final newline). */
export function buildFeedFixtures(): Record<string, string> {
  const keys = privateKeys();
  const text = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const jwks = {
    keys: keys.map(({ kty, crv, x, kid, alg, use }) => ({ kty, crv, x, kid, alg, use })),
  };
  const tokens = Object.fromEntries(
    Object.entries(tokenSpecs()).map(([name, spec], i) => [
      name,
      { note: spec.note, ...signToken(spec, keys, i + 1) },
    ]),
  );
  const transcript = {
    description:
      'The revocation feed as a consumer sees it (docs/FEED.md): the requests it must make, the answers and ' +
      'events it gets, the clock, and what it must say of each token at each checkpoint. conformance/feed/README.md ' +
      'explains the format.',
    consumer: {
      baseUrl: 'http://127.0.0.1:<port>',
      clientId: CLIENT.id,
      clientSecret: CLIENT.secret,
      audience: AUDIENCE,
      issuer: ISSUER,
      maxStalenessSeconds: 30,
    },
    start: at(0),
    steps: steps(),
  };
  return {
    'jwks.json': text(jwks),
    'tokens.json': text(tokens),
    'transcript.json': text(transcript),
  };
}
