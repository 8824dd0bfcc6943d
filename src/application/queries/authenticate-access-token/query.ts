import { TokenwardenError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import { checkVersionStamp, rejectionToError } from '../../../domain/token-validity.js';
import type { AppContext } from '../../context.js';
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
 * at once too. The user's role and state are read from the current state (an
 * invalidated cache), not trusted from the token.
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
    // From memory when warm: see AccessStateReader for how rotations reach it.
    const { config, user, session } = await this.ctx.accessState.read(claims.sub, claims.sid);
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
        // Counted in memory, rolled up into one outbox event a minute: no write per request.
        this.ctx.rejections.record({ tokenKind: 'access', rejection: validity.reason, userId: user.id });
      }
      return err(rejectionToError(validity));
    }
    return ok({ userId: user.id, sessionId: claims.sid, role: user.role });
  }
}
