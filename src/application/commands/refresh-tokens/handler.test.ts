import { expect, it } from 'vitest';
import { describeHandler, type HandlerSuite } from '../../../../test/support/handler-context.js';
import { RevokeSession } from '../revoke-session/command.js';
import { RevokeSessionHandler } from '../revoke-session/handler.js';
import { TriggerGlobalTokenRotation } from '../trigger-global-token-rotation/command.js';
import { TriggerGlobalTokenRotationHandler } from '../trigger-global-token-rotation/handler.js';
import { TriggerUserTokenRotation } from '../trigger-user-token-rotation/command.js';
import { TriggerUserTokenRotationHandler } from '../trigger-user-token-rotation/handler.js';
import { RefreshTokens } from './command.js';
import { RefreshTokensHandler } from './handler.js';

const REUSE_INTERVAL_SECONDS = 10;
const REFRESH_TTL_SECONDS = 600;

const tokenRow = (suite: HandlerSuite, refreshToken: string) =>
  suite.db
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('token_hash', '=', suite.ctx.tokens.hashRefreshToken(refreshToken))
    .executeTakeFirstOrThrow();

describeHandler(
  'RefreshTokensHandler',
  (suite) => {
    const refresh = (refreshToken: string) =>
      new RefreshTokensHandler(suite.ctx).handle(RefreshTokens({ refreshToken, userAgent: null, ip: null }));
    const code = (result: Awaited<ReturnType<typeof refresh>>) => (result.ok ? 'ok' : result.error.code);
    const rotateGlobal = async (gracePeriodSeconds: number) => {
      const result = await new TriggerGlobalTokenRotationHandler(suite.ctx).handle(
        TriggerGlobalTokenRotation({ triggeredBy: 'cli:test', reason: 'refresh test', gracePeriodSeconds }),
      );
      if (!result.ok || 'dryRun' in result.value) throw new Error('global rotation failed');
      return result.value;
    };

    it('rotates: the presented token is marked used and a successor with the current stamps takes its place', async () => {
      const user = await suite.user({ prefix: 'refresh' });
      const pair = await suite.login(user);
      suite.clock.advance(30);

      const result = await refresh(pair.refreshToken);
      if (!result.ok) throw result.error;
      expect(result.value.sessionId).toBe(pair.sessionId);
      expect(result.value.refreshToken).not.toBe(pair.refreshToken);

      const parent = await tokenRow(suite, pair.refreshToken);
      const successor = await tokenRow(suite, result.value.refreshToken);
      expect(parent).toMatchObject({
        used_at: suite.clock.now(),
        successor_id: successor.id,
        revoked_at: null,
      });
      expect(parent.successor_sealed).not.toBeNull();
      expect(successor).toMatchObject({
        parent_id: parent.id,
        session_id: pair.sessionId,
        user_version: parent.user_version,
        global_version: parent.global_version,
        used_at: null,
        created_at: suite.clock.now(),
      });
      const session = await suite.db
        .selectFrom('sessions')
        .select('last_used_at')
        .where('id', '=', pair.sessionId)
        .executeTakeFirstOrThrow();
      expect(session.last_used_at).toEqual(suite.clock.now());
    });

    it('refuses a malformed token and an unknown one as token_invalid, writing nothing', async () => {
      const before = await suite.writes();
      expect(code(await refresh('not-a-token'))).toBe('token_invalid');
      expect(code(await refresh(suite.ctx.tokens.refreshToken()))).toBe('token_invalid');
      expect(await suite.writes()).toEqual(before);
    });

    it('answers a retry up to the reuse interval with the same successor, and revokes the session one millisecond after', async () => {
      const user = await suite.user({ prefix: 'refresh-reuse' });
      const pair = await suite.login(user);
      const first = await refresh(pair.refreshToken);
      if (!first.ok) throw first.error;
      const tokensBefore = await suite.db
        .selectFrom('refresh_tokens')
        .select('id')
        .where('session_id', '=', pair.sessionId)
        .execute();

      suite.clock.advance(REUSE_INTERVAL_SECONDS);
      const retry = await refresh(pair.refreshToken);
      if (!retry.ok) throw retry.error;
      expect(retry.value.refreshToken).toBe(first.value.refreshToken);
      expect(retry.value.accessToken).not.toBe(first.value.accessToken);
      const tokensAfterRetry = await suite.db
        .selectFrom('refresh_tokens')
        .select('id')
        .where('session_id', '=', pair.sessionId)
        .execute();
      expect(tokensAfterRetry).toHaveLength(tokensBefore.length);
      expect(await suite.audit('refresh_token.reuse_detected', user.id)).toEqual([]);

      suite.clock.advance(0.001);
      const reuse = await refresh(pair.refreshToken);
      expect(code(reuse)).toBe('token_reused');
      const session = await suite.db
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', pair.sessionId)
        .executeTakeFirstOrThrow();
      expect(session).toMatchObject({ revoked_at: suite.clock.now(), revoked_reason: 'refresh_token_reuse' });
      const tokens = await suite.db
        .selectFrom('refresh_tokens')
        .select(['revoked_at', 'successor_sealed'])
        .where('session_id', '=', pair.sessionId)
        .execute();
      expect(tokens.every((t) => t.revoked_at !== null && t.successor_sealed === null)).toBe(true);
      const parent = await tokenRow(suite, pair.refreshToken);
      expect(await suite.audit('refresh_token.reuse_detected', user.id)).toMatchObject([
        {
          actor: 'system',
          payload: { sessionId: pair.sessionId, tokenId: parent.id, revokedTokens: 2, sessionRevoked: true },
        },
      ]);
      expect(await suite.events('RefreshTokenReuseDetected', user.id)).toHaveLength(1);
      // The successor the thief (or the owner) got is dead with its family.
      expect(code(await refresh(first.value.refreshToken))).toBe('token_revoked');
    });

    it('does not replay a successor that a user rotation has since invalidated', async () => {
      const user = await suite.user({ prefix: 'refresh-replay-rotated' });
      const pair = await suite.login(user);
      expect(code(await refresh(pair.refreshToken))).toBe('ok');
      const rotated = await new TriggerUserTokenRotationHandler(suite.ctx).handle(
        TriggerUserTokenRotation({ userId: user.id, triggeredBy: user.id, reason: 'log out everywhere' }),
      );
      expect(rotated.ok).toBe(true);
      const before = await suite.writes();
      const retry = await refresh(pair.refreshToken);
      expect(retry.ok ? 'ok' : retry.error.extensions).toEqual({
        rejection: 'user_rotation',
        tokenVersion: 1,
        requiredVersion: 2,
      });
      expect(await suite.writes()).toEqual(before);
    });

    it('accepts a one-behind global stamp until graceUntil, refuses it from then on, and counts the rejection', async () => {
      const user = await suite.user({ prefix: 'refresh-grace' });
      const inGrace = await suite.login(user);
      const late = await suite.login(user);
      const rotation = await rotateGlobal(60);

      suite.clock.advance(59);
      const accepted = await refresh(inGrace.refreshToken);
      if (!accepted.ok) throw accepted.error;
      expect((await tokenRow(suite, accepted.value.refreshToken)).global_version).toBe(rotation.newVersion);

      suite.clock.advance(1);
      expect(suite.clock.now()).toEqual(rotation.graceUntil);
      // Close the rollup window earlier tests counted in, so the next one holds this rejection alone.
      await suite.core.webhooks.rejections.flush();
      const before = await suite.writes();
      const refused = await refresh(late.refreshToken);
      expect(code(refused)).toBe('token_rotated');
      expect(refused.ok ? null : refused.error.extensions).toEqual({
        rejection: 'global_rotation',
        tokenVersion: rotation.previousVersion,
        requiredVersion: rotation.newVersion,
      });
      expect(await suite.writes()).toEqual(before);
      expect((await tokenRow(suite, late.refreshToken)).used_at).toBeNull();

      // Rejections are counted in memory and rolled up into one event, not a row per request.
      await suite.core.webhooks.rejections.flush();
      const [rollup] = (await suite.events('TokenRejectedDueToRotation')).slice(-1);
      expect(rollup?.payload).toMatchObject({ total: 1, byRejection: { global_rotation: 1 } });
      expect(rollup?.payload.userIds).toEqual([user.id]);
    });

    it('refuses a two-behind stamp at once when two global rotations fall inside one grace window', async () => {
      const user = await suite.user({ prefix: 'refresh-two-behind' });
      const pair = await suite.login(user);
      await rotateGlobal(300);
      const second = await rotateGlobal(300);
      const refused = await refresh(pair.refreshToken);
      expect(refused.ok ? null : refused.error.extensions).toEqual({
        rejection: 'global_rotation',
        tokenVersion: second.newVersion - 2,
        requiredVersion: second.newVersion,
      });
    });

    it('refuses a token past its lifetime as token_expired', async () => {
      const user = await suite.user({ prefix: 'refresh-expired' });
      const pair = await suite.login(user);
      suite.clock.advance(REFRESH_TTL_SECONDS);
      expect(code(await refresh(pair.refreshToken))).toBe('token_expired');
      expect((await tokenRow(suite, pair.refreshToken)).used_at).toBeNull();
    });

    it('after logout refuses the live token and the used one as token_revoked, without reuse detection', async () => {
      const user = await suite.user({ prefix: 'refresh-logout' });
      const pair = await suite.login(user);
      const next = await refresh(pair.refreshToken);
      if (!next.ok) throw next.error;
      const loggedOut = await new RevokeSessionHandler(suite.ctx).handle(
        RevokeSession({ sessionId: pair.sessionId, ownerId: user.id, actor: user.id, reason: 'logout' }),
      );
      expect(loggedOut.ok).toBe(true);
      suite.clock.advance(REUSE_INTERVAL_SECONDS + 1);

      expect(code(await refresh(next.value.refreshToken))).toBe('token_revoked');
      expect(code(await refresh(pair.refreshToken))).toBe('token_revoked');
      expect(await suite.audit('refresh_token.reuse_detected', user.id)).toEqual([]);
    });
  },
  {
    TOKENWARDEN_REUSE_INTERVAL_SECONDS: String(REUSE_INTERVAL_SECONDS),
    TOKENWARDEN_REFRESH_TOKEN_TTL_SECONDS: String(REFRESH_TTL_SECONDS),
  },
);
