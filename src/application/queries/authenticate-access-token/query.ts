import { TokenwardenError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import { checkVersionStamp, rejectionToError } from '../../../domain/token-validity.js';
import type { AppContext } from '../../context.js';
import { appendEvent, EventType } from '../../events.js';
import type { Role } from '../../ports/repositories.js';

/** Who a valid bearer token speaks for. */
export interface Principal {
  readonly userId: string;
  readonly sessionId: string;
  readonly role: Role;
}

/**
 * Verifies an access token, then holds its `ver`/`gver` against the current
 * versions by the same rule as refresh tokens, so a rotation kills access tokens
 * at once too. The user's role and state are read fresh, not trusted from the token.
 */
export class AuthenticateAccessTokenQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(token: string): Promise<Result<Principal>> {
    const now = this.ctx.clock.now();
    const verified = await this.ctx.signer.verify(token, now);
    if (!verified.ok) {
      return err(
        new TokenwardenError(
          verified.reason,
          verified.reason === 'token_expired'
            ? 'The access token has expired'
            : 'The access token is not valid',
        ),
      );
    }
    const { claims } = verified;
    const state = await this.ctx.uow.read(async (repos) => ({
      config: await repos.securityConfig.get(),
      user: await repos.users.findById(claims.sub),
      session: await repos.sessions.findById(claims.sid),
    }));
    const { config, user, session } = state;
    if (user === null || user.disabledAt !== null) {
      return err(new TokenwardenError('token_revoked', 'The user is no longer active'));
    }
    if (session === null || session.userId !== user.id || session.revokedAt !== null) {
      return err(new TokenwardenError('token_revoked', 'The session has been revoked'));
    }
    const validity = checkVersionStamp(
      { userVersion: claims.ver, globalVersion: claims.gver },
      {
        userMinTokenVersion: user.minTokenVersion,
        globalMinTokenVersion: config.globalMinTokenVersion,
        graceUntil: config.graceUntil,
      },
      now,
    );
    if (!validity.valid) {
      this.ctx.metrics.tokenRejected(validity.reason);
      if (validity.reason === 'global_rotation' || validity.reason === 'user_rotation') {
        await this.ctx.uow.run((repos) =>
          appendEvent(repos.outbox, this.ctx.tokens, EventType.TokenRejectedDueToRotation, now, {
            tokenKind: 'access',
            rejection: validity.reason,
            userId: user.id,
            sessionId: claims.sid,
            tokenVersion: validity.tokenVersion,
            requiredVersion: validity.requiredVersion,
          }),
        );
      }
      return err(rejectionToError(validity));
    }
    return ok({ userId: user.id, sessionId: claims.sid, role: user.role });
  }
}
