import { ok, type Result } from '../../../domain/result.js';
import { checkRefreshToken } from '../../../domain/token-validity.js';
import type { AppContext } from '../../context.js';
import { AuthenticateAccessTokenQuery } from '../authenticate-access-token/query.js';
import { AuthenticateClientTokenQuery } from '../authenticate-client-token/query.js';

/** What RFC 7662 introspection reports of a token that is active now (times in epoch seconds). */
export type ActiveToken =
  | {
      readonly kind: 'access';
      readonly sub: string;
      readonly sid: string;
      readonly jti: string;
      readonly iat: number;
      readonly exp: number;
      readonly clientId: string | null;
      readonly ver: number;
      readonly gver: number;
    }
  | {
      readonly kind: 'refresh';
      readonly sub: string;
      readonly sid: string;
      readonly iat: number;
      readonly exp: number;
      readonly ver: number;
      readonly gver: number;
    }
  | {
      readonly kind: 'client';
      readonly clientId: string;
      readonly jti: string;
      readonly iat: number;
      readonly exp: number;
    };

/** `null`: not active (unknown, malformed, expired, rotated, revoked, reused, disabled user): RFC 7662 says no more. */
export type Introspection = ActiveToken | null;

/**
 * RFC 7662 introspection by the rules the server itself applies, never a second copy:
 * an access token is judged by the bearer check (AuthenticateAccessTokenQuery), a
 * client-credentials token by the client check, a refresh token by the validity rule
 * (token-validity.ts) on the facts a refresh would lock, read without a lock, and it
 * must also be unused: a rotated token only ever replays or trips reuse detection.
 *
 * @example
 * const result = await services.introspectToken.execute(token);
 * const body = result.ok && result.value !== null ? { active: true, ... } : { active: false };
 */
export class IntrospectTokenQuery {
  private readonly accessTokens: AuthenticateAccessTokenQuery;
  private readonly clientTokens: AuthenticateClientTokenQuery;

  constructor(private readonly ctx: AppContext) {
    this.accessTokens = new AuthenticateAccessTokenQuery(ctx);
    this.clientTokens = new AuthenticateClientTokenQuery(ctx);
  }

  async execute(token: string): Promise<Result<Introspection>> {
    if (this.ctx.tokens.isWellFormedRefreshToken(token)) return ok(await this.refreshToken(token));
    const access = await this.accessTokens.execute(token);
    if (access.ok) {
      const { claims } = access.value;
      return ok({
        kind: 'access',
        sub: claims.sub,
        sid: claims.sid,
        jti: claims.jti,
        iat: claims.iat,
        exp: claims.exp,
        clientId: claims.clientId,
        ver: claims.ver,
        gver: claims.gver,
      });
    }
    const client = await this.clientTokens.execute(token);
    if (client.ok) {
      const { claims } = client.value;
      return ok({
        kind: 'client',
        clientId: claims.clientId,
        jti: claims.jti,
        iat: claims.iat,
        exp: claims.exp,
      });
    }
    return ok(null);
  }

  private async refreshToken(token: string): Promise<Introspection> {
    const tokenHash = this.ctx.tokens.hashRefreshToken(token);
    const facts = await this.ctx.uow.read((repos) => repos.refreshTokens.findFacts(tokenHash));
    if (facts === null || facts.token.usedAt !== null) return null;
    const { token: record, user, session, config } = facts;
    // Never active on versions below the highest in force (docs/DESIGN.md §7): judged as the
    // raise past them will leave them, which refreshes and bearer checks make.
    const marks = this.ctx.versionMarks;
    const globalRegressed = config.globalMinTokenVersion < marks.global();
    const userFloor = marks.user(user.id);
    const validity = checkRefreshToken(
      {
        token: { expiresAt: record.expiresAt, revokedAt: record.revokedAt, stamp: record.stamp },
        session: { revokedAt: session.revokedAt, expiresAt: session.expiresAt },
        user: {
          minTokenVersion: user.minTokenVersion < userFloor ? userFloor + 1 : user.minTokenVersion,
          disabledAt: user.disabledAt,
        },
        globalMinTokenVersion: globalRegressed ? marks.global() + 1 : config.globalMinTokenVersion,
        graceUntil: globalRegressed ? null : config.graceUntil,
      },
      this.ctx.clock.now(),
    );
    if (!validity.valid) return null;
    return {
      kind: 'refresh',
      sub: user.id,
      sid: session.id,
      iat: Math.floor(record.createdAt.getTime() / 1000),
      exp: Math.floor(record.expiresAt.getTime() / 1000),
      ver: record.stamp.userVersion,
      gver: record.stamp.globalVersion,
    };
  }
}
