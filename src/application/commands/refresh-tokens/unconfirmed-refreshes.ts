/** One refresh whose write may have committed while its answer was lost. */
export interface UnconfirmedRefresh {
  readonly tokenHash: string;
  /** The `used_at` the write carried: only that write is reopened, never a later use. */
  readonly usedAt: Date;
}

/** Refreshes remembered at most; past it the oldest is forgotten (its client may then see reuse). */
const MAX_ENTRIES = 10_000;

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

  add(entry: UnconfirmedRefresh): void {
    this.#entries.delete(entry.tokenHash);
    this.#entries.set(entry.tokenHash, entry);
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
