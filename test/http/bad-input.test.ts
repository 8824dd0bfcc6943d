import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useTestApp } from '../support/test-app.js';

describe.each(testDatabases())('bad input is a 4xx problem, never a 500, on $name', (target) => {
  const t = useTestApp(target);
  let admin: string;
  beforeAll(async () => {
    admin = await t.adminToken();
  });

  const raw = (url: string, payload: string | Buffer, contentType = 'application/json', token?: string) =>
    t.tw.app.inject({
      method: 'POST',
      url,
      payload,
      headers: {
        'content-type': contentType,
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
    });

  const expectProblem = (
    res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
    status: number,
  ) => {
    expect(res.statusCode).toBe(status);
    expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
    const problem = res.json() as Record<string, unknown>;
    expect(problem).toMatchObject({
      status,
      type: expect.any(String),
      title: expect.any(String),
      code: expect.any(String),
    });
    return problem;
  };

  it('malformed JSON → 400 bad_request', async () => {
    for (const body of ['{', '{"email":', 'nope', '{"a":1}}']) {
      const problem = expectProblem(await raw('/api/v1/users', body), 400);
      expect(problem.code).toBe('bad_request');
    }
  });

  it('an empty JSON body → 4xx', async () => {
    const res = await raw('/api/v1/sessions', '');
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
  });

  it('wrong types → 422 validation_failed with the failing path, no coercion', async () => {
    const cases: [string, unknown, string][] = [
      ['/api/v1/users', { email: 'a@example.com', password: 12345678 }, '/password'],
      ['/api/v1/sessions', { email: ['a@example.com'], password: 'x' }, '/email'],
      ['/api/v1/tokens', { refreshToken: null }, '/refreshToken'],
      ['/api/v1/tokens', [], '/'],
      ['/api/v1/tokens', 'just a string', '/'],
    ];
    for (const [url, body, path] of cases) {
      const problem = expectProblem(await raw(url, JSON.stringify(body)), 422);
      expect(problem.code).toBe('validation_failed');
      expect((problem.errors as { path: string }[])[0]?.path).toBe(path);
    }
    const grace = expectProblem(
      await raw(
        '/api/v1/admin/security/rotations',
        JSON.stringify({ reason: 'x', gracePeriodSeconds: '60' }),
        undefined,
        admin,
      ),
      422,
    );
    expect((grace.errors as { path: string }[])[0]?.path).toBe('/gracePeriodSeconds');
  });

  it('unknown fields → 422 naming the field', async () => {
    const problem = expectProblem(
      await raw(
        '/api/v1/users',
        JSON.stringify({ email: 'x@example.com', password: 'long enough', role: 'admin' }),
      ),
      422,
    );
    expect(problem.errors).toEqual([{ path: '/role', message: 'is not an accepted field' }]);
  });

  it('a value failing a pattern → 422 saying the rule in words, not the regular expression', async () => {
    for (const reason of ['   ', 'x'.repeat(501), 'two\nlines']) {
      const problem = expectProblem(
        await raw(
          '/api/v1/admin/security/rotations',
          JSON.stringify({ reason, dryRun: true }),
          undefined,
          admin,
        ),
        422,
      );
      const [error] = problem.errors as { path: string; message: string }[];
      expect(error?.path).toBe('/reason');
      expect(error?.message).toMatch(/^is not valid: Why: 500 characters at most once trimmed, not blank/);
      expect(error?.message).not.toContain('\\p{');
    }
  });

  it('a 2 MB body → 413 payload_too_large', async () => {
    const big = JSON.stringify({ refreshToken: 'x'.repeat(2 * 1024 * 1024) });
    const problem = expectProblem(await raw('/api/v1/tokens', big), 413);
    expect(problem.code).toBe('payload_too_large');
  });

  it('a wrong content type → 415 unsupported_media_type', async () => {
    const problem = expectProblem(
      await raw('/api/v1/tokens', 'refreshToken=abc', 'application/x-www-form-urlencoded'),
      415,
    );
    expect(problem.code).toBe('unsupported_media_type');
  });

  it('invalid email and short password at registration → 422; duplicate (any case) → 409 email_taken', async () => {
    expectProblem(
      await raw('/api/v1/users', JSON.stringify({ email: 'not-an-email', password: 'long enough' })),
      422,
    );
    expectProblem(
      await raw('/api/v1/users', JSON.stringify({ email: 'ok@example.com', password: 'short' })),
      422,
    );
    expect(
      (await raw('/api/v1/users', JSON.stringify({ email: 'dup@example.com', password: 'long enough' })))
        .statusCode,
    ).toBe(201);
    const dup = expectProblem(
      await raw('/api/v1/users', JSON.stringify({ email: ' DUP@Example.com ', password: 'long enough' })),
      409,
    );
    expect(dup.code).toBe('email_taken');
  });

  it('bad query strings → 422; an unknown route → 404 not_found', async () => {
    const limit = await t.request('GET', '/api/v1/admin/audit?limit=100000', { token: admin });
    expectProblem(limit, 422);
    const user = await t.request('GET', '/api/v1/admin/audit?userId=not-a-uuid', { token: admin });
    expectProblem(user, 422);
    const cursor = expectProblem(
      await t.request('GET', '/api/v1/admin/audit?cursor=garbage', { token: admin }),
      422,
    );
    expect(cursor.errors).toEqual([{ path: '/cursor', message: expect.any(String) }]);
    const route = await t.request('GET', '/api/v1/nothing-here');
    expect(expectProblem(route, 404).code).toBe('not_found');
  });

  it('garbage, truncated and foreign bearer tokens → 401, never 500', async () => {
    const pair = await t.login('admin@example.com', 'admin-password-1');
    const cases = [
      'garbage',
      pair.accessToken.slice(0, -5),
      `${pair.accessToken.split('.').slice(0, 2).join('.')}.`,
      // alg "none"
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${pair.accessToken.split('.')[1]}.`,
    ];
    for (const token of cases) {
      const res = await t.request('GET', '/api/v1/users/me', { token });
      expect(res.statusCode).toBe(401);
    }
    const noScheme = await t.request('GET', '/api/v1/users/me', {
      headers: { authorization: pair.accessToken },
    });
    expect(noScheme.statusCode).toBe(401);
  });
});
