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

/**
 * The feed showed less than the verifier already holds: a lower global or user version, or
 * a log whose head is below the seq already applied (a database restored from a backup, or
 * failed over to a standby that lost writes). The verifier keeps what it holds.
 */
export interface FeedRegression {
  /** What went back: the global version, one user's version, or the log's head (its seq). */
  readonly kind: 'global_version' | 'user_version' | 'seq';
  /** What the verifier holds and keeps. */
  readonly held: number;
  /** What the feed showed. */
  readonly seen: number;
  /** The user, for `user_version`. */
  readonly userId?: string;
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
 * access-token TTL (plus skew) are pruned. Nothing it holds goes down: a feed that shows
 * lower versions or a lower head is reported to `onRegression` and otherwise ignored.
 */
export class FeedState {
  /** The highest global version seen: tokens stamped below it are refused (one behind: inside grace). */
  globalMinTokenVersion = 0;
  /**
   * Whether a state (not a change) last raised it. A state is read after its page's changes, so
   * it may already show rotations whose changes arrive next: a lower one then is no regression.
   */
  private globalFromState = false;
  /** Until when (epoch ms) a token one global version behind is still accepted; null: no grace. */
  graceUntil: number | null = null;
  /** The server's access-token TTL in seconds (900 until the feed says). */
  ttlSeconds = 900;
  /** Where the feed is read from: every change up to it is applied. */
  lastSeq = 0;
  /** The highest seq ever applied; a change at or below it after a regression is a replay. */
  highestSeq = 0;
  /** Signing keys retired: their tokens are refused. Only grows. */
  readonly retiredKids = new Set<string>();
  /** userId → [minTokenVersion, when it was seen] */
  readonly userMin = new Map<string, [number, number]>();
  /** sessionId → when it was revoked (epoch ms) */
  readonly revokedSessions = new Map<string, number>();
  /** userId → [when disabled, the user's minTokenVersion then] */
  readonly disabledUsers = new Map<string, [number, number]>();
  /**
   * A change of a kind this verifier does not know (a newer server's): it cannot tell which
   * tokens the change concerns, so it refuses every token until the change has left the window
   * (its time plus one TTL and the skew: every token it could concern has expired by then).
   * Null when none; `unknownKind` names the last such kind and its seq.
   */
  blindUntil: number | null = null;
  unknownKind: { readonly kind: string; readonly seq: number } | null = null;

  /**
   * `now`: the verifier's clock in epoch ms, for a change that carries no time;
   * `onRegression`: told when the feed shows less than what is held.
   */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly onRegression: (regression: FeedRegression) => void = () => {},
  ) {}

  /** Takes a `state`: a higher global version (with its grace), the TTL, the retired keys. */
  applyState(state: FeedStateSnapshot): void {
    const global = state.globalMinTokenVersion;
    if (global > this.globalMinTokenVersion) {
      this.globalMinTokenVersion = global;
      this.graceUntil = time(state.graceUntil);
      this.globalFromState = true;
    } else if (global === this.globalMinTokenVersion) {
      this.graceUntil = time(state.graceUntil);
    } else {
      // A restored or failed-over database: the rotation it lost still holds here.
      this.onRegression({ kind: 'global_version', held: this.globalMinTokenVersion, seen: global });
    }
    if (state.accessTokenTtlSeconds !== undefined) this.ttlSeconds = state.accessTokenTtlSeconds;
    for (const key of state.signingKeys) {
      if (key.status === 'retired') this.retiredKids.add(key.kid);
    }
  }

  /**
   * The log's head as the server read it (a heartbeat's, a state's or a page's). Below what is
   * applied, the log went back: reported, and `lastSeq` goes to 0 so the window is read again
   * (changes written since the restore reuse seqs already applied), merged into what is held.
   * Returns whether it went back.
   */
  noteHead(head: number): boolean {
    if (head >= this.lastSeq) return false;
    this.onRegression({ kind: 'seq', held: this.lastSeq, seen: head });
    this.lastSeq = 0;
    return true;
  }

  /** Every change up to `seq` has been read (a catch-up page's `lastSeq`). */
  readThrough(seq: number): void {
    if (seq > this.lastSeq) this.lastSeq = seq;
    if (seq > this.highestSeq) this.highestSeq = seq;
  }

  /** Applies one change past `lastSeq` (one at or below it is ignored). */
  applyChange(change: FeedChange): void {
    if (change.seq <= this.lastSeq) return;
    this.lastSeq = change.seq;
    // Read again after the log went back: old changes show old versions, no news.
    const replay = change.seq <= this.highestSeq;
    if (!replay) this.highestSeq = change.seq;
    const at = time(change.occurredAt) ?? this.now();
    const d = change.details;
    switch (change.kind) {
      case 'global_version': {
        const version = num(d.globalMinTokenVersion);
        if (version === undefined) break;
        if (version >= this.globalMinTokenVersion) {
          this.globalMinTokenVersion = version;
          this.graceUntil = time(d.graceUntil);
          this.globalFromState = false;
        } else if (!replay && !this.globalFromState) {
          this.onRegression({ kind: 'global_version', held: this.globalMinTokenVersion, seen: version });
        }
        break;
      }
      case 'user_version':
      case 'user_disabled':
      case 'user_enabled': {
        if (change.userId === null) break;
        const version = num(d.minTokenVersion);
        if (version !== undefined) this.raiseUser(change.userId, version, at, replay);
        if (change.kind === 'user_disabled') {
          const held = this.disabledUsers.get(change.userId)?.[1] ?? -1;
          this.disabledUsers.set(change.userId, [at, Math.max(held, version ?? -1)]);
        }
        // Enabling raises the user's version: an enable older than the disable held (a replay
        // after the log went back) does not undo it.
        if (change.kind === 'user_enabled') {
          const disabledVersion = this.disabledUsers.get(change.userId)?.[1] ?? -1;
          if (version === undefined || version > disabledVersion) this.disabledUsers.delete(change.userId);
        }
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
      default: {
        // Skipping it could accept a token the change revoked: fail closed instead (docs/FEED.md).
        const until = at + (this.ttlSeconds + SKEW_SECONDS) * 1000;
        if (this.blindUntil === null || until > this.blindUntil) this.blindUntil = until;
        this.unknownKind = { kind: change.kind, seq: change.seq };
        break;
      }
    }
  }

  /** Whether an unknown kind of change still makes every token unjudgeable at `now`. */
  blind(now: number): boolean {
    return this.blindUntil !== null && now < this.blindUntil;
  }

  private raiseUser(userId: string, version: number, at: number, replay: boolean): void {
    const held = this.userMin.get(userId);
    if (held === undefined || version >= held[0]) this.userMin.set(userId, [version, at]);
    else if (!replay) this.onRegression({ kind: 'user_version', held: held[0], seen: version, userId });
  }

  /** Drops what only tokens already expired could be refused for. */
  prune(now: number): void {
    const before = now - (this.ttlSeconds + SKEW_SECONDS) * 1000;
    for (const [user, [, at]] of this.userMin) if (at < before) this.userMin.delete(user);
    for (const [sid, at] of this.revokedSessions) if (at < before) this.revokedSessions.delete(sid);
    for (const [user, [at]] of this.disabledUsers) if (at < before) this.disabledUsers.delete(user);
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
