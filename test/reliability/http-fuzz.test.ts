import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { generateKeyPair, SignJWT } from 'jose';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useListeningApp } from '../support/listening-app.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD, useTestApp } from '../support/test-app.js';
import { scale } from './soak.js';

/**
 * Every route, fed with what a hostile or broken client sends: random JSON of every
 * shape, known fields of the wrong type, huge and deeply nested bodies, wrong content
 * types, invalid UTF-8, forged, truncated and foreign JWTs, refresh tokens of every
 * length. The invariant: never a 5xx, every 4xx under /api/v1 is a problem document,
 * and the heap stays bounded.
 */
const ROUTES: readonly (readonly [string, string])[] = [
  ['POST', '/api/v1/users'],
  ['POST', '/api/v1/sessions'],
  ['POST', '/api/v1/tokens'],
  ['DELETE', '/api/v1/sessions/current'],
  ['GET', '/api/v1/sessions'],
  ['DELETE', '/api/v1/sessions/:id'],
  ['GET', '/api/v1/users/me'],
  ['POST', '/api/v1/users/me/password'],
  ['POST', '/api/v1/users/me/rotations'],
  ['POST', '/api/v1/admin/security/rotations'],
  ['POST', '/api/v1/admin/users/:id/rotations'],
  ['GET', '/api/v1/admin/security/config'],
  ['PATCH', '/api/v1/admin/security/config'],
  ['GET', '/api/v1/admin/audit'],
  ['GET', '/api/v1/admin/audit/actions'],
  ['GET', '/api/v1/admin/audit/activity'],
  ['GET', '/api/v1/admin/audit/verification'],
  ['GET', '/api/v1/admin/users'],
  ['GET', '/api/v1/admin/users/:id/sessions'],
  ['POST', '/api/v1/admin/users/:id/promotion'],
  ['GET', '/api/v1/admin/signing-keys'],
  ['POST', '/api/v1/admin/signing-keys/rotations'],
  ['POST', '/api/v1/admin/signing-keys/:id/retirement'],
  ['GET', '/api/v1/admin/webhooks/deliveries'],
  ['POST', '/api/v1/admin/webhooks/deliveries/:id/retry'],
  ['POST', '/api/v1/admin/service-clients'],
  ['GET', '/api/v1/admin/service-clients'],
  ['POST', '/api/v1/admin/service-clients/:id/revocation'],
  // The catch-up page only: the stream is a response that does not end, tested over sockets in test/feed.
  ['GET', '/api/v1/revocations'],
  ['GET', '/health'],
  ['GET', '/ready'],
  ['GET', '/metrics'],
  ['GET', '/.well-known/jwks.json'],
  ['GET', '/openapi.json'],
];

const FIELDS = [
  'email',
  'password',
  'refreshToken',
  'currentPassword',
  'newPassword',
  'reason',
  'gracePeriodSeconds',
  'dryRun',
  'rotateSigningKey',
  'replace',
  'name',
  '__proto__',
  'constructor',
];
const QUERY_KEYS = [
  'limit',
  'cursor',
  'email',
  'userId',
  'action',
  'since',
  'until',
  'bucketSeconds',
  'ids',
  'state',
  'eventId',
  'after',
  'x',
];

/**
 * What the fuzz puts inside otherwise well-formed strings: NUL, lone high and low
 * surrogates, C0 and C1 controls (ESC sequences that clear the screen or retitle the
 * terminal, CR, LF, CSI), bidi overrides and isolates, zero-width characters, BOM, soft
 * hyphen, line and paragraph separators.
 */
const UNSTORABLE_CHARS = ['\u0000', '\ud800', '\udbff', '\udc00', '\udfff'];
const HIDDEN_CHARS = [
  ...[
    '\u0001',
    '\u0007',
    '\b',
    '\t',
    '\n',
    '\r',
    '\r\n',
    '\u001b',
    '\u001b[2J',
    '\u001b]0;owned\u0007',
    '\u007f',
  ],
  ...[
    '\u0085',
    '\u009b',
    '\u00ad',
    '\u061c',
    '\u200b',
    '\u200c',
    '\u200d',
    '\u200e',
    '\u200f',
    '\u2028',
    '\u2029',
  ],
  ...[
    '\u202a',
    '\u202b',
    '\u202c',
    '\u202d',
    '\u202e',
    '\u2060',
    '\u2066',
    '\u2067',
    '\u2068',
    '\u2069',
    '\ufeff',
  ],
];
const hostileChar = fc.constantFrom(...UNSTORABLE_CHARS, ...HIDDEN_CHARS);
const isUnstorable = (text: string) => text.includes('\u0000') || /\p{Cs}/u.test(text);

/** `plain` with a hostile character strictly inside it, where trimming cannot remove it. */
const withHostile = (plain: fc.Arbitrary<string>, hostile = hostileChar) =>
  fc.tuple(plain, hostile, fc.nat()).map(([text, char, n]) => {
    const at = 1 + (n % Math.max(1, text.length - 1));
    return text.slice(0, at) + char + text.slice(at);
  });

const plausibleString = fc.constantFrom(
  'fuzz@example.com',
  'admin@example.com',
  'new.user@example.com',
  'log out everywhere',
  'correct horse battery',
  `twr_${'A'.repeat(43)}`,
  '00000000-0000-4000-8000-000000000000',
  'session.created',
);

const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  withHostile(plausibleString),
  fc.string({ unit: fc.oneof(hostileChar, fc.constantFrom('a', '@', '.', ' ')), maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '\u0000', '\uD800', '..', '../..', '%00', '%ZZ', '%C0%AF', 'null', '-1', '1e309'),
  fc.integer({ min: 1, max: 5000 }).map((n) => 'x'.repeat(n)),
  fc.uuid(),
);

const wrongLengthRefreshToken = fc.oneof(
  fc.nat({ max: 200 }).map((n) => `twr_${randomBytes(n).toString('base64url').slice(0, n)}`),
  fc.constant(`twr_${'A'.repeat(43)}`),
  fc.constant(`twr_${'A'.repeat(42)}`),
  fc.constant(`twr_${'A'.repeat(44)}`),
  fc.constant('twr_'),
);

const jsonish = fc.jsonValue({ maxDepth: 4 });
const knownFieldsWrongTypes = fc.dictionary(
  fc.constantFrom(...FIELDS),
  fc.oneof(jsonish, nastyString, wrongLengthRefreshToken),
  { maxKeys: 5 },
);

/** Percent-encoded; a lone surrogate cannot be, so it goes as the invalid UTF-8 (`%ED%A0%80`) a client would send. */
function encodePart(text: string): string {
  return [...text].map((char) => (/\p{Cs}/u.test(char) ? '%ED%A0%80' : encodeURIComponent(char))).join('');
}

function encodePathParam(param: string): string {
  return encodePart(param).slice(0, 6000);
}

function queryString(query: Readonly<Record<string, string>>): string {
  return Object.entries(query)
    .map(([key, value]) => `${encodePart(key)}=${encodePart(value)}`)
    .join('&');
}

/** fast-check's report prints the whole counterexample, megabytes here: keep the error and the seed. */
function shortReport<Ts>(details: fc.RunDetails<Ts>): void {
  if (!details.failed) return;
  const cause =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `fuzz failed after ${details.numRuns} runs (seed ${details.seed}, path ${details.counterexamplePath}): ${cause.slice(0, 600)}`,
  );
}

describe.each(testDatabases())('HTTP fuzz on $name', (target) => {
  const t = useTestApp(target);
  const bearers: string[] = [];
  const refreshTokens: string[] = [];

  beforeAll(async () => {
    await t.register('fuzz@example.com');
    const user = await t.login('fuzz@example.com');
    const admin = await t.login('admin@example.com', 'admin-password-1');
    refreshTokens.push(user.refreshToken, admin.refreshToken);
    const [header, payload] = user.accessToken.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const kid = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string }).kid;
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const other = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const adminClaims = { ...claims, role: 'admin' };
    bearers.push(
      user.accessToken,
      admin.accessToken,
      user.accessToken.slice(0, -7), // truncated signature
      `${header}.${payload}`, // no signature part
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64(adminClaims)}.`, // alg none, escalated
      `${b64({ alg: 'none', kid })}.${b64(adminClaims)}.`,
      `${header}.${b64(adminClaims)}.${user.accessToken.split('.')[2]}`, // payload swapped
      await new SignJWT(adminClaims).setProtectedHeader({ alg: 'EdDSA', kid }).sign(other.privateKey),
      await new SignJWT(adminClaims)
        .setProtectedHeader({ alg: 'EdDSA', kid: 'other' })
        .sign(other.privateKey),
      await new SignJWT(adminClaims).setProtectedHeader({ alg: 'HS256', kid }).sign(randomBytes(32)),
      `${b64({ alg: 'EdDSA', kid: 'x'.repeat(3000) })}.${payload}.AAAA`,
      `${b64({ alg: 'RS256', kid, jku: 'http://127.0.0.1:1/jwks' })}.${payload}.AAAA`,
      'e30.e30.e30',
      '...',
    );
  });

  const bearer = fc.oneof(
    fc.constant(undefined),
    fc.integer({ min: 0, max: 1000 }).map((i) => `Bearer ${bearers[i % bearers.length]}`),
    nastyString.map((s) => `Bearer ${s}`),
    nastyString,
    fc.constantFrom('Bearer', 'Bearer ', 'bearer x.y.z', 'Basic YWRtaW46YWRtaW4='),
  );

  const body = fc.oneof(
    { weight: 4, arbitrary: knownFieldsWrongTypes.map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: jsonish.map((v) => JSON.stringify(v)) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          wrongLengthRefreshToken,
          fc.integer({ min: 0, max: 1000 }).map((i) => refreshTokens[i % 2] as string),
        )
        .map((refreshToken) => JSON.stringify({ refreshToken })),
    },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 120_000 }).map((d) => '['.repeat(d) + ']'.repeat(d)) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1, max: 20_000 })
        .map((d) => `{"refreshToken":"x","a":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 60_000, max: 200_000 })
        .map((n) => JSON.stringify({ email: 'a'.repeat(n) })),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        Buffer.from([0x7b, 0x22, 0x65, 0x6d, 0x61, 0x69, 0x6c, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), // {"email":"\xc3(" }
        Buffer.from('{"refreshToken":"twr_\xff\xfe"}', 'latin1'),
        Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), // BOM + {}
        '{"__proto__":{"admin":true}}',
        '{"constructor":{"prototype":{"x":1}}}',
        '{"email":"a@b.co","email":"b@b.co","password":"x"}',
        '',
        'null',
        '{',
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  );

  const contentType = fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        undefined,
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=latin1',
        'application/json; charset=utf-16',
        'application/problem+json',
        'APPLICATION/JSON',
        'application/jsonx',
        ';;;',
        'application/json;'.repeat(200),
      ),
    },
  );

  const request = fc.record({
    route: fc.constantFrom(...ROUTES),
    method: fc.oneof(
      { weight: 8, arbitrary: fc.constant(null) },
      fc.constantFrom('GET', 'PUT', 'OPTIONS', 'HEAD'),
    ),
    param: nastyString,
    query: fc.dictionary(fc.constantFrom(...QUERY_KEYS), nastyString, { maxKeys: 3 }),
    authorization: bearer,
    contentType,
    body,
    extraHeaders: fc.dictionary(
      fc.constantFrom('x-forwarded-for', 'user-agent', 'accept', 'accept-encoding', 'origin', 'cookie'),
      fc.oneof(nastyString, fc.constant('x'.repeat(8000))),
      { maxKeys: 3 },
    ),
  });

  // A thousand requests: about ten seconds alone, past the default 30 s on a loaded two-core machine.
  it(`answers ${scale(1000, 10_000)} hostile requests without a 5xx, heap bounded`, async () => {
    const RUNS = scale(1000, 10_000);
    const statuses = new Map<number, number>();
    const heap: number[] = [];
    let count = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const [routeMethod, template] = r.route;
        const method = (r.method ?? routeMethod) as 'GET' | 'POST' | 'HEAD';
        const path = template.replace(':id', encodePathParam(r.param));
        const qs = queryString(r.query);
        const sendsBody = method !== 'GET' && method !== 'HEAD';
        const res = await t.tw.app.inject({
          method,
          url: qs === '' ? path : `${path}?${qs}`,
          headers: {
            ...r.extraHeaders,
            ...(r.authorization === undefined ? {} : { authorization: r.authorization }),
            ...(r.contentType === undefined || !sendsBody ? {} : { 'content-type': r.contentType }),
          },
          ...(sendsBody ? { payload: r.body } : {}),
        });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (++count % 100 === 0) heap.push(process.memoryUsage().heapUsed);
        const what = () => `${res.statusCode} for ${method} ${path.slice(0, 80)}: ${res.body.slice(0, 300)}`;
        if (res.statusCode >= 500) throw new Error(what());
        const type = String(res.headers['content-type']);
        if (res.statusCode >= 400 && method !== 'HEAD' && !type.startsWith('application/problem+json')) {
          throw new Error(`not a problem document: ${what()}`);
        }
      }),
      { numRuns: RUNS, endOnFailure: true, reporter: shortReport },
    );
    const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
    const summary = {
      inputs: count,
      statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
      heapMb: { first: mb(heap[0] ?? 0), max: mb(Math.max(...heap)), last: mb(heap.at(-1) ?? 0) },
    };
    process.stdout.write(`http fuzz on ${target.name}: ${JSON.stringify(summary)}\n`);
    expect(count).toBe(RUNS);
    // Bounded: what the fuzz keeps (nothing) must not grow with the number of inputs.
    expect(Math.max(...heap) - (heap[0] ?? 0)).toBeLessThan(256 * 1024 * 1024);
  }, 180_000);
});

/** The state a targeted request is built from; refreshed when the fuzz signs its own users out. */
interface FuzzState {
  userId: string;
  userToken: string;
  adminToken: string;
  refreshToken: string;
  password: string;
}

interface Target {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly auth: 'user' | 'admin' | null;
  readonly body?: Readonly<Record<string, string | boolean>>;
  readonly query?: Readonly<Record<string, string>>;
  readonly param?: string;
  /** Body fields where every hostile character is refused with a 422 (emails, reasons). */
  readonly strict?: readonly string[];
}

/** Every route that takes a string, as a well-formed request: the fuzz corrupts one string of it. */
function targetsFor(state: FuzzState): readonly Target[] {
  const uuid = '00000000-0000-4000-8000-000000000000';
  return [
    {
      method: 'POST',
      path: '/api/v1/users',
      auth: null,
      body: { email: 'new.user@example.com', password: 'long enough pw' },
      strict: ['email'],
    },
    {
      method: 'POST',
      path: '/api/v1/sessions',
      auth: null,
      body: { email: 'fuzz@example.com', password: state.password },
    },
    { method: 'POST', path: '/api/v1/tokens', auth: null, body: { refreshToken: state.refreshToken } },
    {
      method: 'POST',
      path: '/api/v1/users/me/password',
      auth: 'user',
      body: { currentPassword: state.password, newPassword: state.password },
    },
    {
      method: 'POST',
      path: '/api/v1/users/me/rotations',
      auth: 'user',
      body: { reason: 'log out everywhere' },
      strict: ['reason'],
    },
    { method: 'DELETE', path: '/api/v1/sessions/:id', auth: 'user', param: uuid },
    {
      method: 'POST',
      path: '/api/v1/admin/security/rotations',
      auth: 'admin',
      body: { reason: 'breach drill', dryRun: true },
      strict: ['reason'],
    },
    {
      method: 'POST',
      path: '/api/v1/admin/users/:id/rotations',
      auth: 'admin',
      param: state.userId,
      body: { reason: 'account compromised', dryRun: true },
      strict: ['reason'],
    },
    { method: 'GET', path: '/api/v1/admin/users', auth: 'admin', query: { email: 'fuzz@example.com' } },
    {
      method: 'GET',
      path: '/api/v1/admin/audit',
      auth: 'admin',
      query: { action: 'session.created', userId: state.userId },
    },
    { method: 'GET', path: '/api/v1/admin/users/:id/sessions', auth: 'admin', param: state.userId },
    {
      method: 'POST',
      path: '/api/v1/admin/signing-keys/rotations',
      auth: 'admin',
      body: { reason: 'scheduled' },
      strict: ['reason'],
    },
    {
      method: 'POST',
      path: '/api/v1/admin/signing-keys/:id/retirement',
      auth: 'admin',
      param: 'no-such-kid',
      body: { reason: 'key leaked' },
      strict: ['reason'],
    },
    {
      method: 'GET',
      path: '/api/v1/admin/webhooks/deliveries',
      auth: 'admin',
      query: { state: 'dead', eventId: uuid },
    },
    { method: 'POST', path: '/api/v1/admin/webhooks/deliveries/:id/retry', auth: 'admin', param: uuid },
  ];
}
const TARGET_COUNT = 15;

/** Which string of the target to corrupt, with what, and (over a socket) how a surrogate is written. */
const plan = fc.record({
  target: fc.nat({ max: TARGET_COUNT - 1 }),
  slot: fc.nat(),
  char: hostileChar,
  at: fc.nat(),
  // 'escaped': JSON `\ud800`, what JSON.stringify writes; 'raw': the surrogate's own bytes ED A0 80.
  surrogateBytes: fc.constantFrom('escaped', 'raw'),
});
type Plan = typeof plan extends fc.Arbitrary<infer T> ? T : never;

interface Built {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
  readonly where: 'body' | 'query' | 'param' | 'header';
  readonly field: string;
  readonly target: Target;
}

/** Header values a real socket can carry: obs-text (C1 controls, soft hyphen) instead of CTLs and non-Latin-1. */
const SOCKET_HEADER_CHARS = ['\u0085', '\u009b', '\u00ad', '\u00a0'];

function build(p: Plan, state: FuzzState, socket: boolean): Built {
  const target = targetsFor(state)[p.target] as Target;
  const body: Record<string, string | boolean> = { ...target.body };
  const query: Record<string, string> = { ...target.query };
  let param = target.param;
  let userAgent = 'tokenwarden-fuzz/1';
  const slots = [
    ...Object.keys(body)
      .filter((k) => typeof body[k] === 'string')
      .map((k) => ['body', k] as const),
    ...Object.keys(query).map((k) => ['query', k] as const),
    ...(param === undefined ? [] : [['param', 'id'] as const]),
    ['header', 'user-agent'] as const,
  ];
  const [where, field] = slots[p.slot % slots.length] as (typeof slots)[number];
  const char =
    where === 'header' && socket
      ? (SOCKET_HEADER_CHARS[p.at % SOCKET_HEADER_CHARS.length] as string)
      : p.char;
  const corrupt = (text: string) => {
    const at = 1 + (p.at % Math.max(1, text.length - 1));
    return text.slice(0, at) + char + text.slice(at);
  };
  if (where === 'body') body[field] = corrupt(body[field] as string);
  if (where === 'query') query[field] = corrupt(query[field] as string);
  if (where === 'param') param = corrupt(param as string);
  if (where === 'header') userAgent = corrupt(userAgent);
  const path = param === undefined ? target.path : target.path.replace(':id', encodePathParam(param));
  const qs = queryString(query);
  const token =
    target.auth === 'user' ? state.userToken : target.auth === 'admin' ? state.adminToken : undefined;
  let payload: string | Buffer | undefined;
  if (target.body !== undefined) {
    const json = JSON.stringify(body);
    payload =
      p.surrogateBytes === 'raw' && socket
        ? Buffer.from(json.replace(/\\ud[89a-f][0-9a-f]{2}/g, '\u0000SURROGATE\u0000'), 'utf8')
        : json;
    if (Buffer.isBuffer(payload)) {
      const marker = Buffer.from('\u0000SURROGATE\u0000');
      const parts: Buffer[] = [];
      let rest = payload;
      for (let i = rest.indexOf(marker); i !== -1; i = rest.indexOf(marker)) {
        parts.push(rest.subarray(0, i), Buffer.from([0xed, 0xa0, 0x80]));
        rest = rest.subarray(i + marker.length);
      }
      payload = Buffer.concat([...parts, rest]);
    }
  }
  return {
    method: target.method,
    url: qs === '' ? path : `${path}?${qs}`,
    headers: {
      'user-agent': userAgent,
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    ...(payload === undefined ? {} : { body: payload }),
    where,
    field,
    target,
  };
}

/** What a hostile string must get: never a 5xx, a problem document for a 4xx, a 422 where it is refused. */
function judge(
  built: Built,
  char: string,
  status: number,
  contentType: string,
  text: string,
  rawBytes: boolean,
) {
  const what = () =>
    `${status} for ${built.method} ${built.url.slice(0, 120)} with ${JSON.stringify(char)} in ${built.where} ${built.field}: ${text.slice(0, 300)}`;
  if (status >= 500) throw new Error(what());
  if (status >= 400 && !contentType.startsWith('application/problem+json')) {
    throw new Error(`not a problem document: ${what()}`);
  }
  if (rawBytes && /\p{Cs}/u.test(char)) return; // decoded as U+FFFD: harmless, nothing to refuse
  if (built.where === 'body' && isUnstorable(char) && status !== 422)
    throw new Error(`not refused: ${what()}`);
  if ((built.where === 'query' || built.where === 'param') && char === '\u0000' && status !== 422) {
    throw new Error(`not refused: ${what()}`);
  }
  const strict = built.where === 'body' && (built.target.strict ?? []).includes(built.field);
  if (strict && status !== 422 && !(status === 401 && built.target.auth !== null)) {
    throw new Error(`not refused: ${what()}`);
  }
}

/**
 * Runs `runs` targeted requests through `send`: each corrupts one string (body field,
 * query value, path parameter or stored header) of a well-formed request to one route.
 * The fuzz's own user and admin sign in again when a request signed them out.
 */
async function runTargeted(options: {
  readonly runs: number;
  readonly socket: boolean;
  readonly login: (email: string, password: string) => Promise<{ accessToken: string; refreshToken: string }>;
  readonly userId: string;
  readonly send: (built: Built) => Promise<{ status: number; contentType: string; text: string }>;
}): Promise<Record<number, number>> {
  const state: FuzzState = {
    userId: options.userId,
    userToken: '',
    adminToken: '',
    refreshToken: '',
    password: USER_PASSWORD,
  };
  const signIn = async () => {
    const user = await options.login('fuzz@example.com', state.password);
    state.userToken = user.accessToken;
    state.refreshToken = user.refreshToken;
    state.adminToken = (await options.login(ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken;
  };
  await signIn();
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(plan, async (p) => {
      const built = build(p, state, options.socket);
      const res = await options.send(built);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      judge(
        built,
        p.char,
        res.status,
        res.contentType,
        res.text,
        options.socket && p.surrogateBytes === 'raw',
      );
      if (res.status === 200 && built.target.path === '/api/v1/users/me/password') {
        state.password = String(JSON.parse(built.body as string).newPassword);
      }
      if (res.status === 401 || (res.status < 300 && built.target.auth === 'user')) await signIn();
    }),
    { numRuns: options.runs, endOnFailure: true, reporter: shortReport },
  );
  return Object.fromEntries([...statuses].sort(([a], [b]) => a - b));
}

/** No email or reason stored by the fuzz holds a control, format or separator character. */
async function expectNothingHiddenStored(
  db: import('kysely').Kysely<import('../../src/infrastructure/database/schema.js').Database>,
) {
  const hidden = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
  const emails = await db.selectFrom('users').select('email').execute();
  const reasons = await sql<{
    reason: string;
  }>`select reason from audit_log where reason is not null`.execute(db);
  expect(emails.filter((row) => hidden.test(row.email))).toEqual([]);
  expect(reasons.rows.filter((row) => hidden.test(row.reason))).toEqual([]);
}

describe.each(testDatabases())(
  'HTTP fuzz, hostile characters in every string of every route, on $name',
  (target) => {
    const t = useTestApp(target);

    it(
      `answers ${scale(600, 6000)} requests with one corrupted string each: refused where it must be, never a 5xx`,
      async () => {
        const { id } = await t.register('fuzz@example.com');
        const statuses = await runTargeted({
          runs: scale(600, 6000),
          socket: false,
          userId: id,
          login: (email, password) => t.login(email, password),
          send: async (built) => {
            const res = await t.tw.app.inject({
              method: built.method as 'GET',
              url: built.url,
              headers: built.headers,
              ...(built.body === undefined ? {} : { payload: built.body }),
            });
            return {
              status: res.statusCode,
              contentType: String(res.headers['content-type']),
              text: res.body,
            };
          },
        });
        process.stdout.write(`hostile-string fuzz (inject) on ${target.name}: ${JSON.stringify(statuses)}\n`);
        await expectNothingHiddenStored(t.tw.db);
      },
      scale(120_000, 900_000),
    );
  },
);

describe.each(testDatabases())('HTTP fuzz over real sockets on $name', (target) => {
  const server = useListeningApp(target);

  it(
    `answers ${scale(300, 3000)} corrupted requests over HTTP/1.1 without a 5xx`,
    async () => {
      const call = async (built: Pick<Built, 'method' | 'url' | 'headers' | 'body'>) => {
        const res = await fetch(`${server.base}${built.url}`, {
          method: built.method,
          headers: built.headers,
          ...(built.body === undefined
            ? {}
            : { body: typeof built.body === 'string' ? built.body : new Uint8Array(built.body) }),
        });
        return {
          status: res.status,
          contentType: res.headers.get('content-type') ?? '',
          text: await res.text(),
        };
      };
      const register = await call({
        method: 'POST',
        url: '/api/v1/users',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'fuzz@example.com', password: USER_PASSWORD }),
      });
      expect(register.status).toBe(201);
      const statuses = await runTargeted({
        runs: scale(300, 3000),
        socket: true,
        userId: (JSON.parse(register.text) as { id: string }).id,
        login: async (email, password) => {
          const res = await call({
            method: 'POST',
            url: '/api/v1/sessions',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email, password }),
          });
          if (res.status !== 201) throw new Error(`login ${email}: ${res.status} ${res.text}`);
          return JSON.parse(res.text) as { accessToken: string; refreshToken: string };
        },
        send: call,
      });
      process.stdout.write(`hostile-string fuzz (sockets) on ${target.name}: ${JSON.stringify(statuses)}\n`);
      await expectNothingHiddenStored(server.tw.db);
    },
    scale(120_000, 900_000),
  );
});
