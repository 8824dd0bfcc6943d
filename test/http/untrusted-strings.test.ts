import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { USER_PASSWORD, useTestApp } from '../support/test-app.js';

/**
 * Strings from HTTP that PostgreSQL cannot store (NUL), that no UTF-8 encoder can
 * write faithfully (lone surrogates), that rewrite an operator's terminal (control
 * characters) or that make two addresses look alike (format characters, compatibility
 * forms, mixed scripts). Bodies are sent as raw JSON text, with the `\u` escapes a
 * hostile client writes.
 */
describe.each(testDatabases())('untrusted strings on $name', (target) => {
  const t = useTestApp(target);
  let admin: string;
  let user: { id: string; accessToken: string };
  beforeAll(async () => {
    admin = await t.adminToken();
    const registered = await t.register('strings@example.com');
    user = { id: registered.id, accessToken: (await t.login('strings@example.com')).accessToken };
  });

  const post = (url: string, json: string, token?: string) =>
    t.tw.app.inject({
      method: 'POST',
      url,
      payload: json,
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
    });

  const expect422 = (
    res: { statusCode: number; headers: Record<string, unknown>; body: string },
    path: string,
  ) => {
    expect(res.statusCode, res.body).toBe(422);
    expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(res.body) as { code: string; errors: { path: string }[] };
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors.map((e) => e.path)).toContain(path);
  };

  describe('NUL and lone surrogates: 422 with the path, never a 500', () => {
    it('in the email of a login (unauthenticated) and of a registration', async () => {
      expect422(await post('/api/v1/sessions', '{"email":"a\\u0000@example.com","password":"x"}'), '/email');
      expect422(
        await post('/api/v1/users', '{"email":"nul\\u0000@example.com","password":"long enough pw"}'),
        '/email',
      );
      expect422(
        await post('/api/v1/users', '{"email":"\\ud800@example.com","password":"long enough pw"}'),
        '/email',
      );
      expect422(
        await post('/api/v1/sessions', '{"email":"a@example.com","password":"pw\\udfff"}'),
        '/password',
      );
    });

    it('in a rotation reason, the user’s own and an admin’s', async () => {
      expect422(
        await post('/api/v1/users/me/rotations', '{"reason":"a\\u0000b"}', user.accessToken),
        '/reason',
      );
      expect422(
        await post('/api/v1/users/me/rotations', '{"reason":"\\ud800"}', user.accessToken),
        '/reason',
      );
      expect422(
        await post(`/api/v1/admin/users/${user.id}/rotations`, '{"reason":"x\\u0000"}', admin),
        '/reason',
      );
      expect422(
        await post('/api/v1/admin/security/rotations', '{"reason":"\\udc00 low","dryRun":true}', admin),
        '/reason',
      );
    });

    it('in a query string and in a nested or unknown field', async () => {
      expect422(await t.request('GET', '/api/v1/admin/users?email=a%00b', { token: admin }), '/email');
      expect422(
        await post('/api/v1/users', '{"email":"a@example.com","password":"long enough","x":["\\u0000"]}'),
        '/x/0',
      );
    });

    it('at the bottom of a body nested 20 000 deep (no stack overflow)', async () => {
      const depth = 20_000;
      const res = await post('/api/v1/users', `{"x":${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}}`);
      expect(res.statusCode, res.body.slice(0, 200)).toBe(422);
    });

    it('a user agent with NUL or a lone surrogate is stored cleaned, the login still works', async () => {
      const res = await t.request('POST', '/api/v1/sessions', {
        body: { email: 'strings@example.com', password: USER_PASSWORD },
        headers: { 'user-agent': 'agent\u0000\ud800/1' },
      });
      expect(res.statusCode, res.body).toBe(201);
      const { accessToken } = res.json() as { accessToken: string };
      const list = await t.request('GET', '/api/v1/sessions', { token: accessToken });
      const current = (list.json() as { items: { current: boolean; userAgent: string }[] }).items.find(
        (s) => s.current,
      );
      expect(current?.userAgent).toBe('agent\ufffd\ufffd/1');
    });
  });

  describe('control and format characters in reasons and emails: 422', () => {
    it('a "log out everywhere" reason with a newline or ESC', async () => {
      expect422(
        await post(
          '/api/v1/users/me/rotations',
          '{"reason":"ok\\n2026-01-01 admin global_rotation"}',
          user.accessToken,
        ),
        '/reason',
      );
      expect422(
        await post('/api/v1/users/me/rotations', '{"reason":"\\u001b]0;owned\\u0007"}', user.accessToken),
        '/reason',
      );
      expect422(
        await post(`/api/v1/admin/users/${user.id}/rotations`, '{"reason":"a\\u202eb"}', admin),
        '/reason',
      );
    });

    it('a signing-key rotation reason with ESC, a reason with a line separator', async () => {
      expect422(
        await post('/api/v1/admin/signing-keys/rotations', '{"reason":"x\\u001b[2Jy"}', admin),
        '/reason',
      );
      expect422(
        await post('/api/v1/users/me/rotations', '{"reason":"one\\u2028two"}', user.accessToken),
        '/reason',
      );
    });

    it('an email with ESC, a zero-width space or a right-to-left override', async () => {
      for (const email of [
        '\\u001b[2Jx@example.com',
        'al\\u200bice@example.com',
        'alice@exa\\u202emple.com',
      ]) {
        expect422(await post('/api/v1/users', `{"email":"${email}","password":"long enough pw"}`), '/email');
      }
    });
  });

  describe('look-alike emails are one address or refused', () => {
    beforeAll(async () => {
      await t.register('alice@example.com');
      await t.register('josé@example.com');
    });

    it('fullwidth forms are the same address: 409 on register, login works', async () => {
      const dup = await t.request('POST', '/api/v1/users', {
        body: { email: 'ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ', password: 'long enough pw' },
      });
      expect(dup.statusCode, dup.body).toBe(409);
      expect((dup.json() as { code: string }).code).toBe('email_taken');
      await t.login('ＡＬＩＣＥ@example.com');
    });

    it('a combining accent is the same address as the precomposed letter', async () => {
      const dup = await t.request('POST', '/api/v1/users', {
        body: { email: 'jose\u0301@example.com', password: 'long enough pw' },
      });
      expect(dup.statusCode, dup.body).toBe(409);
      await t.login('JOSE\u0301@example.com');
    });

    it('a Cyrillic letter among Latin ones is refused, in the local part and in a domain label', async () => {
      for (const email of ['\u0430lice@example.com', 'alice@\u0435xample.com', 'p\u0430ypal@example.com']) {
        const res = await t.request('POST', '/api/v1/users', { body: { email, password: 'long enough pw' } });
        expect422(res, '/email');
      }
    });

    it('an address in one non-Latin script is accepted', async () => {
      const res = await t.request('POST', '/api/v1/users', {
        body: { email: 'иван@пример.рф', password: 'long enough pw' },
      });
      expect(res.statusCode, res.body).toBe(201);
    });
  });
});
