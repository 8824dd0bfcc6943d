import { checkRefreshToken, type Validity } from './token-validity.js';
import type { VersionStamp } from './versions.js';

/** A refresh token as the refresh decision sees it. */
interface PresentedToken {
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly usedAt: Date | null;
  readonly stamp: VersionStamp;
  /** Whether its successor is still sealed under it (dropped once its reuse interval is over). */
  readonly successorSealed: boolean;
}

/** Everything one refresh decides on: read once, judged here, whichever path read it. */
export interface RefreshSituation {
  readonly token: PresentedToken;
  readonly session: { readonly revokedAt: Date | null; readonly expiresAt: Date };
  readonly user: { readonly minTokenVersion: number; readonly disabledAt: Date | null } | null;
  readonly globalMinTokenVersion: number;
  readonly graceUntil: Date | null;
  readonly now: Date;
  /** How long after its use a token presented again is a retry rather than a replay. */
  readonly reuseIntervalMs: number;
  /**
   * This instance lost the answer of a write that used the token: its client never saw the
   * successor, so a use of any age is no replay (docs/RELIABILITY.md, "A stall never turns
   * a retry into reuse").
   */
  readonly unconfirmed: boolean;
  /**
   * The sealed successor, once opened and read back for a `look-up-successor` decision
   * (null: it could not be, e.g. swept); absent before.
   */
  readonly successor?: Omit<PresentedToken, 'usedAt' | 'successorSealed'> | null;
}

/** What a refresh does, before any of it is written. */
export type RefreshDecision =
  /** An unused, valid token: write its successor. */
  | { readonly kind: 'rotate' }
  /** Refused as `rejection` says (of the presented token, or of the successor a retry would get). */
  | { readonly kind: 'reject'; readonly rejection: Validity & { readonly valid: false } }
  /** A used token inside its reuse interval: open its sealed successor and decide again with it. */
  | { readonly kind: 'look-up-successor' }
  /** An honest retry: answer the successor the first use was given, again. */
  | { readonly kind: 'replay' }
  /** Presented after its reuse interval: a copy of a rotated-away token, the session is revoked. */
  | { readonly kind: 'reuse' }
  /** A retry of a lost answer whose successor is gone: refused, but nothing was replayed. */
  | { readonly kind: 'lost' };

/**
 * The refresh rule of docs/DESIGN.md §3 in one place: rotation of an unused valid token,
 * idempotent retries inside the reuse interval, reuse detection after it. Pure; both of
 * the handler's paths call it (the unlocked read rotates only on `rotate` and leaves every
 * other decision to the locked one, which acts on all of them).
 *
 * @example
 * const decision = decideRefresh({ ...facts, now, reuseIntervalMs: 30_000, unconfirmed: false });
 * if (decision.kind === 'look-up-successor') decideRefresh({ ...situation, successor });
 */
export function decideRefresh(situation: RefreshSituation): RefreshDecision {
  const { token, session, now, unconfirmed } = situation;
  if (token.usedAt === null) {
    const validity = judge(token, situation);
    return validity.valid ? { kind: 'rotate' } : { kind: 'reject', rejection: validity };
  }
  // A family already revoked (logout, earlier reuse) has nothing left to protect.
  if (session.revokedAt !== null) {
    return { kind: 'reject', rejection: { valid: false, reason: 'session_revoked' } };
  }
  const withinInterval = unconfirmed || now.getTime() - token.usedAt.getTime() <= situation.reuseIntervalMs;
  if (withinInterval && token.successorSealed && situation.successor === undefined) {
    return { kind: 'look-up-successor' };
  }
  const successor = withinInterval && token.successorSealed ? situation.successor : null;
  if (successor === null || successor === undefined) return { kind: unconfirmed ? 'lost' : 'reuse' };
  // The successor is judged as if presented itself: a rotation or revocation since the
  // first answer must not be bypassed by replaying the parent.
  const validity = judge(successor, situation);
  return validity.valid ? { kind: 'replay' } : { kind: 'reject', rejection: validity };
}

function judge(token: Omit<PresentedToken, 'usedAt' | 'successorSealed'>, s: RefreshSituation): Validity {
  return checkRefreshToken(
    {
      token: { expiresAt: token.expiresAt, revokedAt: token.revokedAt, stamp: token.stamp },
      session: s.session,
      user: s.user,
      globalMinTokenVersion: s.globalMinTokenVersion,
      graceUntil: s.graceUntil,
    },
    s.now,
  );
}
