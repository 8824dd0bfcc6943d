import { ok, type Result } from '../../../domain/result.js';
import { revocationWindowStart } from '../../../domain/revocation-window.js';
import type { SigningKeyStatus } from '../../../domain/signing-key.js';
import type { AppContext } from '../../context.js';
import type { RevocationChange } from '../../ports/revocation-log.js';

export interface RevocationFeedInput {
  /** The last seq the caller holds; 0 (or one older than the window) starts afresh. */
  readonly after: number;
  readonly limit: number;
}

/** What a verifier needs now, whatever it held before: global versions and keys. */
interface RevocationFeedState {
  readonly globalMinTokenVersion: number;
  /** One version behind is still accepted until then (docs/DESIGN.md §1, rule 4); null when no grace. */
  readonly graceUntil: Date | null;
  readonly gracePeriodSeconds: number;
  readonly signingKeys: readonly { readonly kid: string; readonly status: SigningKeyStatus }[];
}

export interface RevocationFeedPage {
  readonly state: RevocationFeedState;
  /** Changes after `after` and inside the window, oldest first, at most `limit`. */
  readonly changes: readonly RevocationChange[];
  /** Where to continue: the last change's seq, or the feed's end when nothing more is there. */
  readonly lastSeq: number;
  readonly hasMore: boolean;
  /**
   * The log's highest committed seq as this read saw it. Below `after` only when the log went
   * back (restored from a backup, a standby that lost writes): a verifier must not trust it.
   */
  readonly headSeq: number;
  /** Changes older than this are left out: every token they concern has expired. */
  readonly windowStart: Date;
  readonly accessTokenTtlSeconds: number;
}

/**
 * The revocation feed from a sequence number on. A verifier holds the state plus, from
 * the changes of the last access-token TTL: per-user minimum versions, revoked session
 * ids and disabled users (docs/VERIFIER.md, "The revocation feed").
 */
export class GetRevocationsQuery {
  constructor(private readonly ctx: Pick<AppContext, 'uow' | 'clock' | 'policy'>) {}

  async execute(input: RevocationFeedInput): Promise<Result<RevocationFeedPage>> {
    const now = this.ctx.clock.now();
    const ttl = this.ctx.policy.accessTokenTtlSeconds;
    const windowStart = revocationWindowStart(now, ttl);
    const page = await this.ctx.uow.read(async (repos) => {
      // The end first: every seq up to it is committed (the counter row orders commits),
      // so the rows read next hold no gap that a later commit could fill.
      const end = await repos.revocations.lastSeq();
      const rows = await repos.revocations.listAfter({
        after: input.after,
        upTo: end,
        since: windowStart,
        limit: input.limit + 1,
      });
      const config = await repos.securityConfig.get();
      const keys = await repos.signingKeys.list(now);
      return { end, rows, config, keys };
    });
    const hasMore = page.rows.length > input.limit;
    const changes = page.rows.slice(0, input.limit);
    return ok({
      state: {
        globalMinTokenVersion: page.config.globalMinTokenVersion,
        graceUntil: page.config.graceUntil,
        gracePeriodSeconds: page.config.gracePeriodSeconds,
        signingKeys: page.keys.map((key) => ({ kid: key.kid, status: key.status })),
      },
      changes,
      lastSeq: hasMore ? (changes.at(-1)?.seq ?? input.after) : Math.max(input.after, page.end),
      hasMore,
      headSeq: page.end,
      windowStart,
      accessTokenTtlSeconds: ttl,
    });
  }
}
