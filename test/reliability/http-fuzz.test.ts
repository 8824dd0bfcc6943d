import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useTestApp } from '../support/test-app.js';
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
  ['GET', '/api/v1/admin/users'],
  ['GET', '/api/v1/admin/users/:id/sessions'],
  ['POST', '/api/v1/admin/users/:id/promotion'],
  ['GET', '/api/v1/admin/signing-keys'],
  ['POST', '/api/v1/admin/signing-keys/rotations'],
  ['POST', '/api/v1/admin/signing-keys/:id/retirement'],
  ['GET', '/api/v1/admin/webhooks/deliveries'],
  ['POST', '/api/v1/admin/webhooks/deliveries/:id/retry'],
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
  '__proto__',
  'constructor',
];
const QUERY_KEYS = ['limit', 'cursor', 'email', 'userId', 'action', 'since', 'state', 'eventId', 'x'];

const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
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

/** Percent-encoded; a lone surrogate cannot be, so it goes as the invalid UTF-8 a client would send. */
function encodePathParam(param: string): string {
  try {
    return encodeURIComponent(param).slice(0, 6000);
  } catch {
    return `%ED%A0%80${param.length}`;
  }
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
        const qs = new URLSearchParams(r.query).toString();
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
  });
});
