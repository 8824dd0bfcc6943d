import { ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { AuthenticateClientTokenQuery } from '../../queries/authenticate-client-token/query.js';
import { isReplay, revokeForReuse } from '../refresh-tokens/reuse-detection.js';
import { RevokeSession } from '../revoke-session/command.js';
import { RevokeSessionHandler } from '../revoke-session/handler.js';
import type { RevokeToken } from './command.js';

/** The audit reason of a session ended through `POST /oauth/revoke`. */
const REASON = 'token_revocation';

/**
 * Finds the session a token belongs to and revokes it through RevokeSessionHandler
 * (tokens, session, audit row and feed change in one transaction). A refresh token is
 * found by its hash whatever its state (a used or expired one still names its family);
 * one rotated away longer ago than the reuse interval is a replay, handled exactly as the
 * refresh handler handles it (session revoked for `refresh_token_reuse`, the
 * `RefreshTokenReuseDetected` event and audit row); inside the interval it is the
 * client's own retry, and a plain revocation;
 * an access token must carry our signature and be unexpired. A live client-credentials
 * token is not revocable one by one (it has no session; revoking its client stops it):
 * `unsupported` says so, for RFC 7009 §2.2.1's `unsupported_token_type`. Anything else
 * changes nothing: RFC 7009 answers 200 either way, so `revoked` is for tests and logs only.
 *
 * @example
 * await services.revokeToken.handle(RevokeToken({ token }));
 */
export class RevokeTokenHandler {
  private readonly sessions: RevokeSessionHandler;
  private readonly clientTokens: AuthenticateClientTokenQuery;

  constructor(private readonly ctx: AppContext) {
    this.sessions = new RevokeSessionHandler(ctx);
    this.clientTokens = new AuthenticateClientTokenQuery(ctx);
  }

  async handle(command: RevokeToken): Promise<
    Result<{
      readonly revoked: boolean;
      readonly reuseDetected?: true;
      readonly unsupported?: 'client_credentials';
    }>
  > {
    if (await this.replayed(command.token)) return ok({ revoked: true, reuseDetected: true });
    const owner = await this.ownerOf(command.token);
    if (owner === null) {
      const client = await this.clientTokens.execute(command.token);
      return ok(client.ok ? { revoked: false, unsupported: 'client_credentials' } : { revoked: false });
    }
    const outcome = await this.sessions.handle(
      RevokeSession({
        sessionId: owner.sessionId,
        ownerId: owner.userId,
        actor: owner.userId,
        reason: REASON,
      }),
    );
    // The session went between the lookup and the revocation (a user deleted, a prune): nothing left to end.
    return ok({ revoked: outcome.ok });
  }

  /** A refresh token rotated away past the reuse interval, its session still live: revoked as a reuse. */
  private async replayed(token: string): Promise<boolean> {
    if (!this.ctx.tokens.isWellFormedRefreshToken(token)) return false;
    const tokenHash = this.ctx.tokens.hashRefreshToken(token);
    const seen = await this.ctx.uow.read((repos) => repos.refreshTokens.findFacts(tokenHash));
    const now = this.ctx.clock.now();
    if (seen === null || seen.session.revokedAt !== null || !isReplay(this.ctx, seen.token, now))
      return false;
    // Decided again under the refresh path's locks: a concurrent logout or reuse wins once.
    const sessionId = await this.ctx.uow.run(async (repos) => {
      const facts = await repos.refreshTokens.findForRefresh(tokenHash);
      if (facts === null || facts.session.revokedAt !== null || !isReplay(this.ctx, facts.token, now)) {
        return null;
      }
      await revokeForReuse(this.ctx, repos, facts.token, facts.user.id, now);
      return facts.session.id;
    });
    if (sessionId === null) return false;
    this.ctx.versionListener.sessionRevoked(sessionId);
    return true;
  }

  private async ownerOf(
    token: string,
  ): Promise<{ readonly sessionId: string; readonly userId: string } | null> {
    if (this.ctx.tokens.isWellFormedRefreshToken(token)) {
      const tokenHash = this.ctx.tokens.hashRefreshToken(token);
      const facts = await this.ctx.uow.read((repos) => repos.refreshTokens.findFacts(tokenHash));
      return facts === null ? null : { sessionId: facts.session.id, userId: facts.user.id };
    }
    const verified = await this.ctx.signer.verify(token, this.ctx.clock.now());
    return verified.ok ? { sessionId: verified.claims.sid, userId: verified.claims.sub } : null;
  }
}
