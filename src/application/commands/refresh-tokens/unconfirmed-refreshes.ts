/** One refresh of a token whose write may have committed while its answer was lost. */
interface UnconfirmedWrite {
  readonly tokenHash: string;
  /** The `used_at` the write carried. */
  readonly usedAt: Date;
}

/** A token whose use is in doubt. */
export interface UnconfirmedRefresh {
  readonly tokenHash: string;
  /**
   * The `used_at` of each write that may have committed (at most one did): only those are
   * reopened, never a later use. A retry that failed too adds its own, never replaces the
   * first: while a write waits to commit (a synchronous standby that does not acknowledge),
   * the retry's write waits on its lock and fails, and it is the first one that commits.
   */
  readonly usedAt: readonly Date[];
}

/** Refreshes remembered at most; past it the oldest is forgotten (its client may then see reuse). */
const MAX_ENTRIES = 10_000;
/** Writes in doubt remembered per token; a client retrying more often than this in a stall loses the latest. */
const MAX_WRITES_PER_TOKEN = 16;

/**
 * The refreshes of this instance whose outcome is unknown: the database stalled or the
 * connection died after the write was sent, so the write may have committed, but no
 * answer reached the client (docs/RELIABILITY.md, "A stall never turns a retry into
 * reuse"). The client holds only the token it sent and will present it again; once the
 * database answers, each entry's reuse window is reopened from then, and until it is,
 * this instance treats the token as inside its window. In memory only: an instance that
 * dies forgets them.
 *
 * @example
 * unconfirmed.add({ tokenHash, usedAt: now }); // the write threw: outcome unknown
 * if (unconfirmed.has(tokenHash)) … // a retry: not a replay
 */
export class UnconfirmedRefreshes {
  readonly #entries = new Map<string, UnconfirmedRefresh>();

  get size(): number {
    return this.#entries.size;
  }

  add(write: UnconfirmedWrite): void {
    const known = this.#entries.get(write.tokenHash)?.usedAt ?? [];
    const usedAt = known.length < MAX_WRITES_PER_TOKEN ? [...known, write.usedAt] : known;
    this.#entries.delete(write.tokenHash);
    this.#entries.set(write.tokenHash, { tokenHash: write.tokenHash, usedAt });
    if (this.#entries.size > MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  has(tokenHash: string): boolean {
    return this.#entries.has(tokenHash);
  }

  /** The entries, oldest first, at most `limit`. */
  list(limit: number): readonly UnconfirmedRefresh[] {
    return [...this.#entries.values()].slice(0, limit);
  }

  /** Settled: the database now holds the truth about this token. */
  settle(tokenHash: string): void {
    this.#entries.delete(tokenHash);
  }
}
