import { type ImplausibleReason, issuanceRefusal } from '@tokenwarden/jws';
import { TokenwardenError } from './errors.js';
import type { VersionStamp } from './versions.js';

/** Why a token was refused. Each maps to one error code in {@link rejectionToError}. */
type RejectionReason =
  | 'token_expired'
  | 'token_revoked'
  | 'session_revoked'
  | 'session_expired'
  | 'user_missing'
  | 'user_disabled'
  | 'user_rotation'
  | 'global_rotation';

export type Validity =
  | { readonly valid: true }
  | { readonly valid: false; readonly reason: Exclude<RejectionReason, 'user_rotation' | 'global_rotation'> }
  | {
      readonly valid: false;
      readonly reason: 'user_rotation' | 'global_rotation';
      readonly tokenVersion: number;
      readonly requiredVersion: number;
    };

/** The version state a stamp is judged against. */
export interface CurrentVersions {
  readonly userMinTokenVersion: number;
  readonly globalMinTokenVersion: number;
  readonly graceUntil: Date | null;
}

const VALID: Validity = { valid: true };

/**
 * Rules 3 and 4 of docs/DESIGN.md §1, shared by refresh and access tokens: the user
 * stamp must be current (never any grace), the global stamp current or exactly
 * one behind while the last global rotation's grace window is open.
 */
export function checkVersionStamp(stamp: VersionStamp, current: CurrentVersions, now: Date): Validity {
  if (stamp.userVersion < current.userMinTokenVersion) {
    return {
      valid: false,
      reason: 'user_rotation',
      tokenVersion: stamp.userVersion,
      requiredVersion: current.userMinTokenVersion,
    };
  }
  if (stamp.globalVersion >= current.globalMinTokenVersion) return VALID;
  const inGrace =
    stamp.globalVersion === current.globalMinTokenVersion - 1 &&
    current.graceUntil !== null &&
    now.getTime() < current.graceUntil.getTime();
  if (inGrace) return VALID;
  return {
    valid: false,
    reason: 'global_rotation',
    tokenVersion: stamp.globalVersion,
    requiredVersion: current.globalMinTokenVersion,
  };
}

// The issuer's bounds on an access token are one rule with the verifier package's (the skew
// allowed to `iat`, the TTL, stamps at most current): @tokenwarden/jws holds it.
export { type ImplausibleReason, MAX_ISSUED_AT_SKEW_SECONDS } from '@tokenwarden/jws';

export type Issuance =
  | { readonly plausible: true }
  | { readonly plausible: false; readonly reason: ImplausibleReason };

/** What the issuer bounds when it signs an access token (times in seconds since the epoch). */
export interface IssuedAccessToken {
  readonly iat: number;
  readonly exp: number;
  readonly stamp: VersionStamp;
}

const PLAUSIBLE: Issuance = { plausible: true };

/**
 * Whether the issuer could have produced this access token: it stamps the versions
 * current at issuance (and versions only grow), signs for at most the configured
 * TTL, and dates it with its own clock. A token outside that was signed by someone
 * else holding the key (or is from a configuration with a longer TTL): refuse it.
 * The stamp is held against `current` as read now; a caller whose read may be stale
 * should read again before trusting a `stamp_above_current`.
 *
 * @example
 * const issuance = checkIssuance(
 *   { iat: claims.iat, exp: claims.exp, stamp: { userVersion: claims.ver, globalVersion: claims.gver } },
 *   { userMinTokenVersion: user.minTokenVersion, globalMinTokenVersion: config.globalMinTokenVersion },
 *   { ttlSeconds: 900 },
 *   clock.now(),
 * );
 */
export function checkIssuance(
  token: IssuedAccessToken,
  current: Pick<CurrentVersions, 'userMinTokenVersion' | 'globalMinTokenVersion'>,
  limits: { readonly ttlSeconds: number; readonly maxSkewSeconds?: number },
  now: Date,
): Issuance {
  const reason = issuanceRefusal(
    { iat: token.iat, exp: token.exp, ver: token.stamp.userVersion, gver: token.stamp.globalVersion },
    { userVersion: current.userMinTokenVersion, globalVersion: current.globalMinTokenVersion },
    limits.ttlSeconds,
    now.getTime() / 1000,
    limits.maxSkewSeconds,
  );
  return reason === null ? PLAUSIBLE : { plausible: false, reason };
}

/** Everything the validity rule looks at for one presented refresh token. */
export interface RefreshTokenFacts {
  readonly token: {
    readonly expiresAt: Date;
    readonly revokedAt: Date | null;
    readonly stamp: VersionStamp;
  };
  readonly session: { readonly revokedAt: Date | null; readonly expiresAt: Date };
  readonly user: { readonly minTokenVersion: number; readonly disabledAt: Date | null } | null;
  readonly globalMinTokenVersion: number;
  readonly graceUntil: Date | null;
}

/**
 * The validity rule of docs/DESIGN.md §1 for a refresh token that exists (rule 1's lookup
 * is the repository's job; whether it was already used is the refresh handler's).
 * Pure: the same facts and clock always give the same answer.
 *
 * @example
 * const v = checkRefreshToken(facts, clock.now());
 * if (!v.valid) return err(rejectionToError(v));
 */
export function checkRefreshToken(facts: RefreshTokenFacts, now: Date): Validity {
  const t = now.getTime();
  if (facts.token.revokedAt !== null) return { valid: false, reason: 'token_revoked' };
  if (facts.session.revokedAt !== null) return { valid: false, reason: 'session_revoked' };
  if (facts.token.expiresAt.getTime() <= t) return { valid: false, reason: 'token_expired' };
  if (facts.session.expiresAt.getTime() <= t) return { valid: false, reason: 'session_expired' };
  if (facts.user === null) return { valid: false, reason: 'user_missing' };
  if (facts.user.disabledAt !== null) return { valid: false, reason: 'user_disabled' };
  return checkVersionStamp(
    facts.token.stamp,
    {
      userMinTokenVersion: facts.user.minTokenVersion,
      globalMinTokenVersion: facts.globalMinTokenVersion,
      graceUntil: facts.graceUntil,
    },
    now,
  );
}

const REJECTION_DETAIL: Record<Exclude<RejectionReason, 'user_rotation' | 'global_rotation'>, string> = {
  token_expired: 'The token has expired',
  token_revoked: 'The token has been revoked',
  session_revoked: 'The session has been revoked',
  session_expired: 'The session has reached its maximum age',
  user_missing: 'The user no longer exists',
  user_disabled: 'The user is disabled',
};

/** The problem a rejection is answered with (`token_rotated` carries the versions). */
export function rejectionToError(validity: Validity & { valid: false }): TokenwardenError {
  switch (validity.reason) {
    case 'user_rotation':
    case 'global_rotation':
      return new TokenwardenError(
        'token_rotated',
        validity.reason === 'global_rotation'
          ? 'All tokens issued before the last global rotation have been invalidated'
          : "All of this user's tokens issued before the last rotation have been invalidated",
        {
          rejection: validity.reason,
          tokenVersion: validity.tokenVersion,
          requiredVersion: validity.requiredVersion,
        },
      );
    case 'token_expired':
    case 'session_expired':
      return new TokenwardenError('token_expired', REJECTION_DETAIL[validity.reason]);
    default:
      return new TokenwardenError('token_revoked', REJECTION_DETAIL[validity.reason]);
  }
}
