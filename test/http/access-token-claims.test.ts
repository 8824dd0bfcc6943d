import { SignJWT } from 'jose';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createTokenwarden, loggerOptions } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { testDatabases } from '../support/databases.js';
import { captureLogs } from '../support/log-capture.js';
import { ManualClock } from '../support/manual-clock.js';
import { TEST_ENV, type TestApp, USER_PASSWORD, useTestApp } from '../support/test-app.js';

type Claims = Record<string, unknown> & { iat: number; exp: number; ver: number; gver: number };

const claimsOf = (jwt: string): Claims =>
  JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString());

/** Signs any claims with the service's own active key, as only the issuer (or a key thief) can. */
async function mint(t: Pick<TestApp, 'tw'>, claims: Record<string, unknown>): Promise<string> {
  const { kid, privateKey } = await t.tw.keyStore.signingKey();
  return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' }).sign(privateKey);
}

const SESSION_MAX_AGE = 3600;

describe.each(testDatabases())('access tokens hold only what the issuer issues on $name', (target) => {
  const t = useTestApp(target, { TOKENWARDEN_SESSION_MAX_AGE_SECONDS: String(SESSION_MAX_AGE) });
  let n = 0;
  const freshPair = async () => {
    const email = `claims${++n}@example.com`;
    await t.register(email);
    return t.login(email);
  };
  const me = (token: string) => t.request('GET', '/api/v1/users/me', { token });
  const nowSeconds = () => Math.floor(t.clock.now().getTime() / 1000);
  const sessionExpiry = async (sessionId: string) => {
    const row = await t.tw.db
      .selectFrom('sessions')
      .select('expires_at')
      .where('id', '=', sessionId)
      .executeTakeFirstOrThrow();
    return Math.floor(row.expires_at.getTime() / 1000);
  };

  describe('the session absolute age', () => {
    it('an access token issued a minute before the session ends expires with it', async () => {
      const pair = await freshPair();
      const ends = await sessionExpiry(pair.sessionId);
      t.clock.advance(SESSION_MAX_AGE - 60);
      const res = await t.refresh(pair.refreshToken);
      expect(res.statusCode).toBe(200);
      const claims = claimsOf(res.json().accessToken);
      expect(claims.exp).toBeLessThanOrEqual(ends);
      expect(res.json().expiresIn).toBeLessThanOrEqual(60);
      expect(claims.exp - claims.iat).toBe(res.json().expiresIn);
    });

    it('the bearer check refuses a token whose session passed its absolute age (401 token_expired)', async () => {
      const pair = await freshPair();
      const { id } = (await me(pair.accessToken)).json();
      t.clock.advance(SESSION_MAX_AGE - 60);
      // A token signed before the clamp existed: its own exp is 15 min away.
      const { token } = await t.tw.context.signer.sign(
        { sub: id, sid: pair.sessionId, role: 'user', ver: 1, gver: 1 },
        t.clock.now(),
      );
      expect((await me(token)).statusCode).toBe(200);
      t.clock.advance(120);
      const res = await me(token);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({
        code: 'token_expired',
        detail: expect.stringMatching(/maximum age/),
      });
    });
  });

  describe('the audience', () => {
    it('access tokens carry aud "tokenwarden" by default', async () => {
      const pair = await freshPair();
      expect(claimsOf(pair.accessToken).aud).toBe('tokenwarden');
    });

    it('a token signed with our key for another audience, or for none, is 401 token_invalid', async () => {
      const pair = await freshPair();
      const { aud: _aud, ...base } = claimsOf(pair.accessToken);
      for (const claims of [base, { ...base, aud: 'another-service' }]) {
        const res = await me(await mint(t, claims));
        expect(res.statusCode).toBe(401);
        expect(res.json().code).toBe('token_invalid');
      }
      expect((await me(await mint(t, { ...base, aud: 'tokenwarden' }))).statusCode).toBe(200);
    });
  });

  describe('claims the issuer never produces', () => {
    const refusedAsInvalid = async (token: string) => {
      const res = await me(token);
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('token_invalid');
    };

    it('refuses ver or gver above the current versions; one a lost write could explain raises them past it', async () => {
      const base = claimsOf((await freshPair()).accessToken);
      // Far above anything a failover or restore loses: a forgery, and nothing else changes.
      await refusedAsInvalid(await mint(t, { ...base, ver: 1_000_000, gver: 1_000_000 }));
      expect((await me(await mint(t, base))).statusCode).toBe(200);
      // Just above: refused too, and taken as evidence the database went back (DESIGN §7).
      await refusedAsInvalid(await mint(t, { ...base, ver: base.ver + 1 }));
      await refusedAsInvalid(await mint(t, { ...base, gver: base.gver + 1 }));
      const before = await me(await mint(t, base));
      expect(before.statusCode).toBe(401);
      expect(before.json().code).toBe('token_rotated');
      expect((await me((await freshPair()).accessToken)).statusCode).toBe(200);
    });

    it('refuses a lifetime longer than the configured TTL', async () => {
      const base = claimsOf((await freshPair()).accessToken);
      await refusedAsInvalid(await mint(t, { ...base, exp: base.iat + 901 }));
      await refusedAsInvalid(await mint(t, { ...base, exp: base.iat + 30 * 86_400 }));
      expect((await me(await mint(t, { ...base, exp: base.iat + 900 }))).statusCode).toBe(200);
    });

    it('refuses iat more than 30 s in the future, and accepts a small skew', async () => {
      const base = claimsOf((await freshPair()).accessToken);
      const now = nowSeconds();
      await refusedAsInvalid(await mint(t, { ...base, iat: now + 31, exp: now + 31 + 600 }));
      await refusedAsInvalid(await mint(t, { ...base, iat: now + 3600, exp: now + 3600 + 900 }));
      expect((await me(await mint(t, { ...base, iat: now + 30, exp: now + 30 + 900 }))).statusCode).toBe(200);
    });

    it('a stamp above a stale cached version is checked against the database, not refused', async () => {
      const pair = await freshPair();
      const base = claimsOf(pair.accessToken);
      expect((await me(pair.accessToken)).statusCode).toBe(200); // the cache now holds version 1
      // Another instance rotated the user and issued a version-2 token; no invalidation reached us yet.
      await sql`update users set min_token_version = 2 where id = ${base.sub}`.execute(t.tw.db);
      expect((await me(await mint(t, { ...base, ver: 2 }))).statusCode).toBe(200);
      // …and the re-read is now what the old token is held against.
      expect((await me(pair.accessToken)).json().code).toBe('token_rotated');
    });
  });
});

describe.each(testDatabases())('a configured audience and the forged-token log on $name', (target) => {
  it('signs and requires TOKENWARDEN_AUDIENCE, and logs a refusal at warn with kid, sub and jti only', async () => {
    const { lines, sink } = captureLogs();
    const database = await target.create();
    const clock = new ManualClock();
    const tw = await createTokenwarden(
      loadConfig({ ...TEST_ENV, LOG_LEVEL: 'warn', TOKENWARDEN_AUDIENCE: 'https://api.example.com' }),
      { clock, database, logger: { ...(loggerOptions('warn') as object), stream: sink }, logStream: sink },
    );
    try {
      const call = (method: 'GET' | 'POST', url: string, body?: object, token?: string) =>
        tw.app.inject({
          method,
          url,
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
          ...(body === undefined ? {} : { payload: body }),
        });
      await call('POST', '/api/v1/users', { email: 'aud@example.com', password: USER_PASSWORD });
      const pair = (
        await call('POST', '/api/v1/sessions', { email: 'aud@example.com', password: USER_PASSWORD })
      ).json();
      const claims = claimsOf(pair.accessToken);
      expect(claims.aud).toBe('https://api.example.com');
      expect((await call('GET', '/api/v1/users/me', undefined, pair.accessToken)).statusCode).toBe(200);
      expect(
        (
          await call(
            'GET',
            '/api/v1/users/me',
            undefined,
            await mint({ tw }, { ...claims, aud: 'tokenwarden' }),
          )
        ).statusCode,
      ).toBe(401);

      const forged = await mint({ tw }, { ...claims, ver: claims.ver + 5, jti: 'forged-jti' });
      const res = await call('GET', '/api/v1/users/me', undefined, forged);
      expect(res.json().code).toBe('token_invalid');
      const warnings = lines.map((line) => JSON.parse(line)).filter((l) => /forged/i.test(l.msg));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({
        level: 40,
        kid: (await tw.keyStore.signingKey()).kid,
        sub: claims.sub,
        jti: 'forged-jti',
        reason: 'stamp_above_current',
      });
      expect(lines.join('\n')).not.toContain(forged);
      expect(lines.join('\n')).not.toContain(forged.split('.')[2] as string);
    } finally {
      await tw.close();
      await database.close();
    }
  });
});
