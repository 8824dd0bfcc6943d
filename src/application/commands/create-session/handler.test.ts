import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { DisableUser } from '../disable-user/command.js';
import { DisableUserHandler } from '../disable-user/handler.js';
import { TriggerGlobalTokenRotation } from '../trigger-global-token-rotation/command.js';
import { TriggerGlobalTokenRotationHandler } from '../trigger-global-token-rotation/handler.js';
import { CreateSession } from './command.js';
import { CreateSessionHandler } from './handler.js';

const SESSION_CAP = 2;
const SESSION_MAX_AGE_SECONDS = 3_600;

describeHandler(
  'CreateSessionHandler',
  (suite) => {
    const login = (email: string, password: string, userAgent: string | null = 'agent/1') =>
      new CreateSessionHandler(suite.ctx).handle(
        CreateSession({ email, password, userAgent, ip: '192.0.2.7' }),
      );

    it('starts a session and a first refresh token stamped with the current versions, audited', async () => {
      const user = await suite.user({ prefix: 'login' });
      const result = await login(user.email.toUpperCase(), user.password);
      if (!result.ok) throw result.error;
      const { sessionId } = result.value;
      expect(result.value).toMatchObject({ tokenType: 'Bearer', refreshExpiresIn: SESSION_MAX_AGE_SECONDS });
      expect(result.value.refreshToken).toMatch(/^twr_/);

      const now = suite.clock.now();
      const session = await suite.db
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', sessionId)
        .executeTakeFirstOrThrow();
      expect(session).toMatchObject({
        user_id: user.id,
        user_agent: 'agent/1',
        ip: '192.0.2.7',
        revoked_at: null,
        created_at: now,
        expires_at: new Date(now.getTime() + SESSION_MAX_AGE_SECONDS * 1000),
      });
      const config = await suite.db.selectFrom('security_config').selectAll().executeTakeFirstOrThrow();
      const tokens = await suite.db
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('session_id', '=', sessionId)
        .execute();
      expect(tokens).toMatchObject([
        {
          user_id: user.id,
          user_version: 1,
          global_version: config.global_min_token_version,
          parent_id: null,
        },
      ]);
      expect(tokens[0]?.token_hash).toBe(suite.ctx.tokens.hashRefreshToken(result.value.refreshToken));

      expect(await suite.audit('session.created', user.id)).toMatchObject([
        {
          actor: user.id,
          payload: { sessionId, userAgent: 'agent/1', ip: '192.0.2.7', revokedSessionIds: [] },
        },
      ]);
      expect(await suite.events('SessionCreated', user.id)).toMatchObject([{ payload: { sessionId } }]);
    });

    it('stamps a session started after a global rotation with the new global version', async () => {
      const user = await suite.user({ prefix: 'login-after-rotation' });
      const rotation = await new TriggerGlobalTokenRotationHandler(suite.ctx).handle(
        TriggerGlobalTokenRotation({ triggeredBy: 'cli:test', reason: 'login after rotation' }),
      );
      if (!rotation.ok || 'dryRun' in rotation.value) throw new Error('rotation failed');
      const result = await login(user.email, user.password);
      if (!result.ok) throw result.error;
      const token = await suite.db
        .selectFrom('refresh_tokens')
        .select('global_version')
        .where('session_id', '=', result.value.sessionId)
        .executeTakeFirstOrThrow();
      expect(token.global_version).toBe(rotation.value.newVersion);
    });

    it('refuses a wrong password, an unknown email and a disabled user alike, writing nothing', async () => {
      const user = await suite.user({ prefix: 'login-refused' });
      const disabled = await suite.user({ prefix: 'login-disabled' });
      const off = await new DisableUserHandler(suite.ctx).handle(
        DisableUser({ userId: disabled.id, actor: 'cli:test', reason: null }),
      );
      expect(off.ok).toBe(true);
      const before = await suite.writes();
      const sessionsBefore = await suite.db.selectFrom('sessions').select('id').execute();

      for (const [email, password] of [
        [user.email, 'not the password'],
        ['nobody-here@example.com', user.password],
        [disabled.email, disabled.password],
      ] as const) {
        const result = await login(email, password);
        expect(result.ok ? 'ok' : result.error.code).toBe('invalid_credentials');
        if (!result.ok) expect(result.error.message).toBe('Email or password is incorrect');
      }
      expect(await suite.writes()).toEqual(before);
      expect(await suite.db.selectFrom('sessions').select('id').execute()).toHaveLength(
        sessionsBefore.length,
      );
    });

    it('keeps the user within the session cap by revoking the oldest session in the same transaction', async () => {
      const user = await suite.user({ prefix: 'login-cap' });
      const sessions: string[] = [];
      for (let i = 0; i < SESSION_CAP; i++) {
        suite.clock.advance(1);
        sessions.push((await suite.login(user)).sessionId);
      }
      suite.clock.advance(1);
      const result = await login(user.email, user.password);
      if (!result.ok) throw result.error;

      const rows = await suite.db
        .selectFrom('sessions')
        .select(['id', 'revoked_at', 'revoked_reason'])
        .where('user_id', '=', user.id)
        .execute();
      const oldest = rows.find((row) => row.id === sessions[0]);
      expect(oldest).toMatchObject({ revoked_at: suite.clock.now(), revoked_reason: 'session_limit' });
      expect(
        rows
          .filter((row) => row.revoked_at === null)
          .map((row) => row.id)
          .sort(),
      ).toEqual([sessions[1], result.value.sessionId].sort());
      const oldestTokens = await suite.db
        .selectFrom('refresh_tokens')
        .select('revoked_at')
        .where('session_id', '=', sessions[0] as string)
        .execute();
      expect(oldestTokens.every((token) => token.revoked_at !== null)).toBe(true);
      expect(await suite.audit('session.revoked', user.id)).toMatchObject([
        {
          reason: 'session_limit',
          payload: { sessionId: sessions[0], sessionLimit: SESSION_CAP, replacedBy: result.value.sessionId },
        },
      ]);
      const [created] = (await suite.audit('session.created', user.id)).slice(-1);
      expect(created?.payload).toMatchObject({ revokedSessionIds: [sessions[0]] });
    });
  },
  {
    TOKENWARDEN_MAX_SESSIONS_PER_USER: String(SESSION_CAP),
    TOKENWARDEN_SESSION_MAX_AGE_SECONDS: String(SESSION_MAX_AGE_SECONDS),
    TOKENWARDEN_REFRESH_TOKEN_TTL_SECONDS: String(SESSION_MAX_AGE_SECONDS * 2),
  },
);
