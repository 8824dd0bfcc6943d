import { ServiceUnavailableError, TokenwardenError } from '../../../domain/errors.js';
import { decideRefresh, type RefreshDecision } from '../../../domain/refresh-decision.js';
import type { RefreshTokenRecord } from '../../../domain/refresh-token.js';
import { err, ok, type Result } from '../../../domain/result.js';
import { rejectionToError, type Validity } from '../../../domain/token-validity.js';
import type { UserRecord } from '../../../domain/user.js';
import type { SecurityConfig, VersionStamp } from '../../../domain/versions.js';
import type { AppContext } from '../../context.js';
import type {
  RefreshExpectation,
  RefreshFacts,
  RefreshRotation,
} from '../../ports/refresh-token-repository.js';
import type { Repositories } from '../../ports/repositories.js';
import { buildTokenPair, newRefreshToken, type TokenPair, type TokenPairInput } from '../../token-pair.js';
import { checkGlobalVersion, checkUserVersion, regressionUnavailable } from '../../version-regression.js';
import type { RefreshTokens } from './command.js';
import { revokeForReuse } from './reuse-detection.js';
import { UnconfirmedRefreshes } from './unconfirmed-refreshes.js';

const invalidToken = () => new TokenwardenError('token_invalid', 'The refresh token is not valid');
const tooLate = () =>
  new ServiceUnavailableError('database', 'The refresh could not be written in time; send it again');

/** What the transaction decided; the access token is signed after commit. */
interface Granted extends TokenPairInput {
  readonly replayed: boolean;
}

/** A rotation made ready: what to write, and what to answer once it is written. */
interface PreparedRotation {
  readonly write: RefreshRotation;
  readonly granted: Granted;
}

/**
 * Refresh with rotation, idempotent retries and reuse detection. A plain rotation reads
 * without locks and writes in one statement that re-checks, under the shared lock order
 * of ../../lock-order.ts (config share → token update → user share), what it decided
 * on; anything else (a used token, a rejection, a change since the read) is decided in
 * a transaction that reads the same facts under those locks first. Either way a refresh
 * that commits after a rotation committed wrote the new version, or nothing.
 */
export class RefreshTokensHandler {
  /** This instance's refreshes whose write may have committed while the answer was lost. */
  readonly #unconfirmed = new UnconfirmedRefreshes();
  #settling = false;

  constructor(private readonly ctx: AppContext) {}

  async handle(command: RefreshTokens): Promise<Result<TokenPair>> {
    if (!this.ctx.tokens.isWellFormedRefreshToken(command.refreshToken)) {
      this.ctx.metrics.refresh('rejected');
      return err(invalidToken());
    }
    const tokenHash = this.ctx.tokens.hashRefreshToken(command.refreshToken);
    // Set when reuse detection revoked a session, so caches are told after the commit.
    const revoked: { sessionId: string | null } = { sessionId: null };
    const outcome =
      (await this.optimistic(command.refreshToken, tokenHash)) ??
      (await this.locked(command.refreshToken, tokenHash, revoked));

    if (revoked.sessionId !== null) this.ctx.versionListener.sessionRevoked(revoked.sessionId);
    if (!outcome.ok) {
      this.ctx.metrics.refresh('rejected');
      return outcome;
    }
    this.ctx.metrics.refresh(outcome.value.replayed ? 'replayed' : 'issued');
    return ok(await buildTokenPair(this.ctx, outcome.value));
  }

  /**
   * Reopens the reuse window of each refresh whose answer was lost, once the database
   * answers again: the client's retry with the same token then gets the same successor,
   * however long the database stalled (docs/RELIABILITY.md, "A stall never turns a retry
   * into reuse"). Called on a timer by the server; stops at the first failure (the
   * database is still away) and keeps what is left for the next call.
   *
   * @returns how many windows were reopened and how many entries were settled
   */
  async settleUnconfirmed(limit = 100): Promise<{ readonly reopened: number; readonly settled: number }> {
    if (this.#settling || this.#unconfirmed.size === 0) return { reopened: 0, settled: 0 };
    this.#settling = true;
    let reopened = 0;
    let settled = 0;
    try {
      for (const entry of this.#unconfirmed.list(limit)) {
        const now = this.ctx.clock.now();
        const done = await this.ctx.uow.statement((repos) =>
          repos.refreshTokens.reopenReuseWindow(entry.tokenHash, entry.usedAt, now),
        );
        // Reopened, or the token is not as the lost write would have left it (it never
        // committed, or was used or revoked since): either way the database holds the truth.
        if (done) reopened += 1;
        this.#unconfirmed.settle(entry.tokenHash);
        settled += 1;
      }
    } catch {
      // Still unavailable: the rest wait for the next call.
    } finally {
      this.#settling = false;
    }
    return { reopened, settled };
  }

  /** Anything but a plain rotation, decided under the lock order's row locks. */
  private async locked(
    plaintext: string,
    tokenHash: string,
    revoked: { sessionId: string | null },
  ): Promise<Result<Granted>> {
    let writing: Date | null = null;
    try {
      return await this.ctx.uow.run(async (repos): Promise<Result<Granted>> => {
        const facts = await repos.refreshTokens.findForRefresh(tokenHash);
        if (facts === null) return err(invalidToken());
        // Raised on the optimistic path; below the high-water mark still means a raise is due.
        if (this.belowHighWater(facts.config, facts.user)) return err(regressionUnavailable());
        const now = this.ctx.clock.now();
        const decision = this.decide(facts, now, tokenHash);
        if (decision.kind === 'look-up-successor') {
          return this.presentedAgain(repos, facts, now, plaintext, tokenHash, revoked);
        }
        if (decision.kind !== 'rotate') return this.act(decision, repos, facts, now, revoked);
        const { write, granted } = this.prepareRotation(facts, now, plaintext);
        writing = now;
        // Under the locks findForRefresh took: nothing to re-check but the deadline.
        if (!(await repos.refreshTokens.rotate(write, null))) {
          writing = null; // known: nothing was written
          throw tooLate();
        }
        return ok(granted);
      });
    } catch (error) {
      if (writing !== null && error instanceof ServiceUnavailableError) {
        this.#unconfirmed.add({ tokenHash, usedAt: writing });
      }
      throw error;
    }
  }

  /**
   * The common case in two round trips and no BEGIN/COMMIT: the facts read without
   * locks, judged here, then one statement that takes the lock order's row locks,
   * re-checks under them everything the judgement rested on and only then writes
   * (`rotate` with what it expects). Null when the token was used, is not valid, or changed
   * between the read and the write: the locked transaction decides those (reuse
   * detection, retries, rejections), exactly as when it was the only path.
   */
  private async optimistic(plaintext: string, tokenHash: string): Promise<Result<Granted> | null> {
    const facts = await this.ctx.uow.read((repos) => repos.refreshTokens.findFacts(tokenHash));
    // No such hash: nothing to lock or re-check, and no row can come to have it.
    if (facts === null) return err(invalidToken());
    const versions = await this.admitVersions(facts);
    if (versions !== 'current') return versions;
    const now = this.ctx.clock.now();
    // Anything but a rotation (a retry, a replay, a refusal) is decided again under locks.
    if (this.decide(facts, now, tokenHash).kind !== 'rotate') return null;
    const expected: RefreshExpectation = {
      globalMinTokenVersion: facts.config.globalMinTokenVersion,
      graceUntil: facts.config.graceUntil,
      userMinTokenVersion: facts.user.minTokenVersion,
      role: facts.user.role,
    };
    // Made before knowing it will be written, and thrown away when it is not: each change
    // that empties the write's re-check (a use, a revocation, a disable, a version bump,
    // which a role or grace change always comes with) leaves the locked path replaying,
    // refusing or stamping anew, never rotating to this same successor.
    const { write, granted } = this.prepareRotation(facts, now, plaintext);
    let written: boolean;
    try {
      written = await this.ctx.uow.statement((repos) => repos.refreshTokens.rotate(write, expected));
    } catch (error) {
      // The statement may have committed with its answer lost: remember it, so the
      // client's retry is not taken for a replay (settleUnconfirmed).
      if (error instanceof ServiceUnavailableError) this.#unconfirmed.add({ tokenHash, usedAt: now });
      throw error;
    }
    return written ? ok(granted) : null;
  }

  /**
   * The versions read, held against the highest this instance knows (docs/DESIGN.md §7):
   * below, they are raised by an audited rotation and the locked path reads them again
   * (null); a raise that cannot commit refuses the refresh.
   */
  private async admitVersions(facts: RefreshFacts): Promise<'current' | Result<never> | null> {
    const global = await checkGlobalVersion(this.ctx, facts.config);
    if (!global.ok) return global;
    const user = await checkUserVersion(this.ctx, facts.user.id, facts.user.minTokenVersion);
    if (!user.ok) return user;
    return global.value === 'current' && user.value === 'current' ? 'current' : null;
  }

  private belowHighWater(config: SecurityConfig, user: UserRecord | null): boolean {
    const marks = this.ctx.versionMarks;
    return (
      config.globalMinTokenVersion < marks.global() ||
      (user !== null && user.minTokenVersion < marks.user(user.id))
    );
  }

  /** A successor stamped with the versions of `facts`, sealed under the parent: not yet written. */
  private prepareRotation(facts: RefreshFacts, now: Date, plaintext: string): PreparedRotation {
    const { token: presented, user, session, config } = facts;
    const stamp: VersionStamp = {
      userVersion: user.minTokenVersion,
      globalVersion: config.globalMinTokenVersion,
    };
    const successor = newRefreshToken(this.ctx, {
      sessionId: session.id,
      sessionExpiresAt: session.expiresAt,
      userId: user.id,
      stamp,
      now,
      parentId: presented.id,
    });
    const write: RefreshRotation = {
      successor: successor.record,
      successorSealed: this.ctx.sealer.seal(plaintext, successor.issued.token),
      usedAt: now,
      // By the database's clock: the reads' `readAt` is its time, whatever this server's says.
      writeBefore: new Date(facts.readAt.getTime() + this.ctx.policy.writeDeadlineMs),
    };
    const granted: Granted = {
      userId: user.id,
      role: user.role,
      sessionId: session.id,
      stamp,
      refreshToken: successor.issued.token,
      refreshExpiresAt: successor.issued.expiresAt,
      sessionExpiresAt: session.expiresAt,
      now,
      replayed: false,
    };
    return { write, granted };
  }

  /** The refresh rule (domain/refresh-decision.ts) on what was read, with this instance's lost answers. */
  private decide(
    facts: RefreshFacts,
    now: Date,
    tokenHash: string,
    successor?: RefreshTokenRecord | null,
  ): RefreshDecision {
    const { token, session, user, config } = facts;
    return decideRefresh({
      token: { ...token, successorSealed: token.successorSealed !== null },
      session,
      user,
      globalMinTokenVersion: config.globalMinTokenVersion,
      graceUntil: config.graceUntil,
      now,
      reuseIntervalMs: this.ctx.policy.reuseIntervalSeconds * 1000,
      // A use whose answer this instance lost is no replay: its client never saw the successor.
      unconfirmed: this.#unconfirmed.has(tokenHash),
      ...(successor === undefined ? {} : { successor }),
    });
  }

  /**
   * A used token again, inside the reuse interval: an honest retry (two tabs, a lost
   * response) gets the same successor, opened from the seal under the presented token and
   * read back, then decided on again with it.
   */
  private async presentedAgain(
    repos: Repositories,
    facts: RefreshFacts,
    now: Date,
    plaintext: string,
    tokenHash: string,
    revoked: { sessionId: string | null },
  ): Promise<Result<Granted>> {
    const { token: presented, user, session, config } = facts;
    const successorToken =
      presented.successorSealed === null ? null : this.ctx.sealer.open(plaintext, presented.successorSealed);
    const successor =
      successorToken !== null && presented.successorId !== null
        ? await repos.refreshTokens.findById(presented.successorId)
        : null;
    const decision = this.decide(facts, now, tokenHash, successorToken === null ? null : successor);
    if (decision.kind !== 'replay' || successorToken === null || successor === null) {
      return this.act(decision, repos, facts, now, revoked);
    }
    return ok({
      userId: user.id,
      role: user.role,
      sessionId: session.id,
      // The access token carries the versions current now, like any token issued now.
      stamp: { userVersion: user.minTokenVersion, globalVersion: config.globalMinTokenVersion },
      refreshToken: successorToken,
      refreshExpiresAt: successor.expiresAt,
      sessionExpiresAt: session.expiresAt,
      now,
      replayed: true,
    });
  }

  /** A decision that answers without a successor: a refusal, or reuse detection. */
  private async act(
    decision: RefreshDecision,
    repos: Repositories,
    facts: RefreshFacts,
    now: Date,
    revoked: { sessionId: string | null },
  ): Promise<Result<never>> {
    switch (decision.kind) {
      case 'reject':
        return this.reject(decision.rejection, facts.token);
      case 'reuse':
        revoked.sessionId = facts.token.sessionId;
        return this.detectReuse(repos, facts.token, facts.user, now);
      case 'lost':
        // Its successor is gone (swept): refused, but the session stays; nothing was replayed.
        return err(
          new TokenwardenError('token_invalid', 'The refresh could not be completed; sign in again'),
        );
      default:
        // rotate, look-up-successor, replay: acted on by the caller, never here.
        throw new Error(`refresh decision ${decision.kind} has no answer without a successor`);
    }
  }

  private async detectReuse(
    repos: Repositories,
    presented: RefreshTokenRecord,
    user: UserRecord | null,
    now: Date,
  ): Promise<Result<never>> {
    await revokeForReuse(this.ctx, repos, presented, user?.id ?? presented.userId, now);
    return err(
      new TokenwardenError(
        'token_reused',
        'This refresh token was already used; the session has been revoked as a precaution',
      ),
    );
  }

  private reject(validity: Validity & { valid: false }, token: RefreshTokenRecord): Result<never> {
    this.ctx.metrics.tokenRejected(validity.reason);
    if (validity.reason === 'global_rotation' || validity.reason === 'user_rotation') {
      // Counted in memory, rolled up into one outbox event a minute: no write per request.
      this.ctx.rejections.record({ tokenKind: 'refresh', rejection: validity.reason, userId: token.userId });
    }
    return err(rejectionToError(validity));
  }
}
