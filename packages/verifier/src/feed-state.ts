/** What the revocation feed has said, as a verifier holds it (README, "Revocation feed"). */

/** A change as the feed sends it (`GET /api/v1/revocations`, or one stream event's data). */
export interface FeedChange {
  readonly seq: number;
  readonly kind: string;
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly kid: string | null;
  readonly details: Record<string, unknown>;
  readonly occurredAt: string;
}

/** The feed's `state` (the page's `state`, or the stream's `event: state`). */
export interface FeedStateSnapshot {
  readonly globalMinTokenVersion: number;
  readonly graceUntil: string | null;
  readonly signingKeys: readonly { readonly kid: string; readonly status: string }[];
  readonly accessTokenTtlSeconds?: number;
}

/** Why the state refuses a token; `null` when it accepts it. */
export type StateRejection =
  | { readonly code: 'token_revoked'; readonly message: string }
  | {
      readonly code: 'token_rotated';
      readonly rejection: 'user_rotation' | 'global_rotation';
      readonly message: string;
    };

/** The clock skew the server allows too: changes older than TTL + this concern only expired tokens. */
const SKEW_SECONDS = 60;

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

const time = (value: unknown): number | null => {
  if (typeof value !== 'string') return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
};

/**
 * Per user the highest `minTokenVersion`, the revoked sessions, the disabled users, the
 * retired kids, the global version and its grace window; entries older than one
 * access-token TTL (plus skew) are pruned.
 */
export class FeedState {
  globalMinTokenVersion = 0;
  graceUntil: number | null = null;
  ttlSeconds = 900;
  lastSeq = 0;
  readonly retiredKids = new Set<string>();
  /** userId → [minTokenVersion, when it was seen] */
  readonly userMin = new Map<string, [number, number]>();
  readonly revokedSessions = new Map<string, number>();
  readonly disabledUsers = new Map<string, number>();

  /** `now`: the verifier's clock in epoch ms, for a change that carries no time. */
  constructor(private readonly now: () => number = Date.now) {}

  applyState(state: FeedStateSnapshot): void {
    this.globalMinTokenVersion = state.globalMinTokenVersion;
    this.graceUntil = time(state.graceUntil);
    if (state.accessTokenTtlSeconds !== undefined) this.ttlSeconds = state.accessTokenTtlSeconds;
    for (const key of state.signingKeys) {
      if (key.status === 'retired') this.retiredKids.add(key.kid);
    }
  }

  applyChange(change: FeedChange): void {
    if (change.seq <= this.lastSeq) return;
    this.lastSeq = change.seq;
    const at = time(change.occurredAt) ?? this.now();
    const d = change.details;
    switch (change.kind) {
      case 'global_version': {
        const version = num(d.globalMinTokenVersion);
        if (version !== undefined && version >= this.globalMinTokenVersion) {
          this.globalMinTokenVersion = version;
          this.graceUntil = time(d.graceUntil);
        }
        break;
      }
      case 'user_version':
      case 'user_disabled':
      case 'user_enabled': {
        if (change.userId === null) break;
        const version = num(d.minTokenVersion);
        if (version !== undefined) this.raiseUser(change.userId, version, at);
        if (change.kind === 'user_disabled') this.disabledUsers.set(change.userId, at);
        if (change.kind === 'user_enabled') this.disabledUsers.delete(change.userId);
        break;
      }
      case 'session_revoked':
        if (change.sessionId !== null) this.revokedSessions.set(change.sessionId, at);
        break;
      case 'signing_key_retired':
        if (change.kid !== null) this.retiredKids.add(change.kid);
        break;
      case 'signing_key_rotated':
        if (Array.isArray(d.retiredKids)) {
          for (const kid of d.retiredKids) if (typeof kid === 'string') this.retiredKids.add(kid);
        }
        break;
      default:
        break;
    }
  }

  private raiseUser(userId: string, version: number, at: number): void {
    const held = this.userMin.get(userId);
    if (held === undefined || version >= held[0]) this.userMin.set(userId, [version, at]);
  }

  /** Drops what only tokens already expired could be refused for. */
  prune(now: number): void {
    const before = now - (this.ttlSeconds + SKEW_SECONDS) * 1000;
    for (const [user, [, at]] of this.userMin) if (at < before) this.userMin.delete(user);
    for (const [sid, at] of this.revokedSessions) if (at < before) this.revokedSessions.delete(sid);
    for (const [user, at] of this.disabledUsers) if (at < before) this.disabledUsers.delete(user);
  }

  /**
   * The server's rule (its `checkVersionStamp`, plus the revoked session, the disabled user and
   * the retired key): the user stamp current, the global stamp current or one behind inside grace.
   */
  check(
    claims: { sub: string; sid: string; ver: number; gver: number },
    kid: string,
    now: number,
  ): StateRejection | null {
    if (this.retiredKids.has(kid)) {
      return { code: 'token_revoked', message: 'The signing key of this token has been retired' } as const;
    }
    if (this.revokedSessions.has(claims.sid)) {
      return { code: 'token_revoked', message: 'The session has been revoked' } as const;
    }
    if (this.disabledUsers.has(claims.sub)) {
      return { code: 'token_revoked', message: 'The user is disabled' } as const;
    }
    const userMin = this.userMin.get(claims.sub)?.[0] ?? 0;
    if (claims.ver < userMin) {
      return {
        code: 'token_rotated',
        rejection: 'user_rotation',
        message: "All of this user's tokens issued before the last rotation have been invalidated",
      } as const;
    }
    if (claims.gver >= this.globalMinTokenVersion) return null;
    const inGrace =
      claims.gver === this.globalMinTokenVersion - 1 && this.graceUntil !== null && now < this.graceUntil;
    if (inGrace) return null;
    return {
      code: 'token_rotated',
      rejection: 'global_rotation',
      message: 'All tokens issued before the last global rotation have been invalidated',
    } as const;
  }
}
