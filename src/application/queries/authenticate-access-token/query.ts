import { TokenwardenError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import {
  checkIssuance,
  checkVersionStamp,
  type ImplausibleReason,
  type Issuance,
  rejectionToError,
} from '../../../domain/token-validity.js';
import type { Role } from '../../../domain/user.js';
import { isCredibleEvidence } from '../../../domain/version-regression.js';
import type { AppContext } from '../../context.js';
import type { AccessState } from '../../ports/access-state-reader.js';
import type { AccessTokenClaims, VerifyFailure } from '../../ports/access-token-signer.js';
import { checkGlobalVersion, checkUserVersion, regressionUnavailable } from '../../version-regression.js';

/** Who a valid bearer token speaks for. */
export interface Principal {
  readonly userId: string;
  readonly sessionId: string;
  readonly role: Role;
  /** The token's verified claims (introspection reports them). */
  readonly claims: AccessTokenClaims;
}

/** The error for a token the signer refused (bad signature, claims or type; or expired). */
export const signatureRefusal = (reason: VerifyFailure): TokenwardenError =>
  new TokenwardenError(
    reason,
    reason === 'token_expired' ? 'The access token has expired' : 'The access token is not valid',
  );

/**
 * A token that verified under our key but that the issuer never produces (stamps
 * above the current versions, a lifetime over the TTL, dated in the future): likely
 * minted with a stolen key. Answered as any invalid token; the HTTP layer logs it at
 * warn with `sub` and `jti` only (never the token).
 */
export class ForgedTokenSuspected extends TokenwardenError {
  constructor(
    readonly reason: ImplausibleReason,
    readonly sub: string,
    readonly jti: string,
  ) {
    super('token_invalid', 'The access token is not valid');
  }
}

/**
 * Verifies an access token, then holds its `ver`/`gver` against the current
 * versions by the same rule as refresh tokens, so a rotation kills access tokens
 * at once too. The user's role and state are read from the current state (an
 * invalidated cache), not trusted from the token; the session's absolute age ends
 * the token too, whatever its `exp`.
 */
export class AuthenticateAccessTokenQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(token: string): Promise<Result<Principal>> {
    const now = this.ctx.clock.now();
    const verified = await this.ctx.signer.verify(token, now);
    if (!verified.ok) {
      return err(signatureRefusal(verified.reason));
    }
    const { claims } = verified;
    // From memory when warm: see AccessStateReader for how rotations reach it.
    let state = await this.ctx.accessState.read(claims.sub, claims.sid);
    let issuance = this.issuance(claims, state, now);
    if (!issuance.plausible && issuance.reason === 'stamp_above_current') {
      // This instance may not have heard of a rotation another one already issued under.
      state = await this.ctx.accessState.read(claims.sub, claims.sid, { fresh: true });
      issuance = this.issuance(claims, state, now);
      // Still above: minted with a stolen key, or the database went back below versions we
      // issued under (docs/DESIGN.md §7). Refused either way; when credible it is evidence
      // too, and the versions are raised past it before anything else is accepted.
      if (
        !issuance.plausible &&
        issuance.reason === 'stamp_above_current' &&
        this.noteEvidence(claims, state)
      ) {
        const raised = await this.admitVersions(claims, state);
        if (!raised.ok) return raised;
      }
    }
    if (!issuance.plausible) {
      this.ctx.metrics.tokenRejected(issuance.reason);
      return err(new ForgedTokenSuspected(issuance.reason, claims.sub, claims.jti));
    }
    const admitted = await this.admitVersions(claims, state);
    if (!admitted.ok) return admitted;
    const { config, user, session } = admitted.value;
    if (user === null || user.disabledAt !== null) {
      return err(new TokenwardenError('token_revoked', 'The user is no longer active'));
    }
    if (session === null || session.userId !== user.id || session.revokedAt !== null) {
      return err(new TokenwardenError('token_revoked', 'The session has been revoked'));
    }
    if (session.expiresAt.getTime() <= now.getTime()) {
      // The same answer a refresh gets for the same fact: the session ended, log in again.
      return err(rejectionToError({ valid: false, reason: 'session_expired' }));
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
    return ok({ userId: user.id, sessionId: claims.sid, role: user.role, claims });
  }

  /**
   * A stamp above the database's versions on a token that verified under our key and is
   * plausible in time: the versions it carries may have been in force. Remembered unless
   * it is further ahead than a real loss could be (MAX_EVIDENCE_LEAD); true when remembered.
   */
  private noteEvidence(claims: AccessTokenClaims, state: AccessState): boolean {
    const marks = this.ctx.versionMarks;
    const known = (database: number, remembered: number, stamp: number) =>
      stamp <= Math.max(database, remembered) || isCredibleEvidence(stamp, Math.max(database, remembered));
    if (!known(state.config.globalMinTokenVersion, marks.global(), claims.gver)) return false;
    const user = state.user;
    if (user !== null && !known(user.minTokenVersion, marks.user(user.id), claims.ver)) return false;
    marks.observeGlobal(claims.gver);
    if (user !== null) marks.observeUser(user.id, claims.ver);
    return true;
  }

  /**
   * The versions as read, once they are at or above the highest this instance knows;
   * below, they are raised by an audited rotation first (docs/DESIGN.md §7) and read
   * again, and nothing is accepted on the lower ones meanwhile.
   */
  private async admitVersions(claims: AccessTokenClaims, read: AccessState): Promise<Result<AccessState>> {
    let state = read;
    for (let attempt = 0; attempt < 2; attempt++) {
      const global = await checkGlobalVersion(this.ctx, state.config);
      if (!global.ok) return global;
      const user =
        state.user === null
          ? ok('current' as const)
          : await checkUserVersion(this.ctx, state.user.id, state.user.minTokenVersion);
      if (!user.ok) return user;
      if (global.value === 'current' && user.value === 'current') return ok(state);
      state = await this.ctx.accessState.read(claims.sub, claims.sid, { fresh: true });
    }
    return err(regressionUnavailable());
  }

  private issuance(claims: AccessTokenClaims, state: AccessState, now: Date): Issuance {
    return checkIssuance(
      { iat: claims.iat, exp: claims.exp, stamp: { userVersion: claims.ver, globalVersion: claims.gver } },
      {
        // An unknown user is refused below as revoked; only the global stamp can be judged here.
        userMinTokenVersion: state.user?.minTokenVersion ?? Number.MAX_SAFE_INTEGER,
        globalMinTokenVersion: state.config.globalMinTokenVersion,
      },
      { ttlSeconds: this.ctx.policy.accessTokenTtlSeconds },
      now,
    );
  }
}
