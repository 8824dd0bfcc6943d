import type { Clock } from '../../application/ports/clock.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';

/** Rows cleared per statement: bounded, so a backlog never holds locks for long. */
const DEFAULT_SWEEP_BATCH_SIZE = 1000;

export interface SealedSuccessorSweepDeps {
  readonly uow: UnitOfWork;
  readonly clock: Clock;
  readonly logger?: { error(details: object, message: string): void };
}

export interface SealedSuccessorSweepOptions {
  /** A used token's seal is needed this long after its use (idempotent retries), no longer. */
  readonly reuseIntervalSeconds: number;
  /** How often the background pass runs: the most a seal outlives its interval by. */
  readonly intervalSeconds: number;
  readonly batchSize?: number;
}

/**
 * Clears `successor_sealed` on refresh tokens whose reuse interval is over. A seal
 * opens under the parent's plaintext, so one old token plus a database dump would
 * otherwise walk a session's chain forward to its live token. The refresh path
 * already refuses to open a seal past the interval, and revoking a family drops its
 * seals; this pass bounds how long any other seal stays stored.
 *
 * @example
 * const sweep = new SealedSuccessorSweep({ uow, clock }, { reuseIntervalSeconds: 10, intervalSeconds: 30 });
 * sweep.start();
 * await sweep.sweepSealedSuccessors(); // one pass now (tests)
 * await sweep.close();
 */
export class SealedSuccessorSweep {
  readonly #deps: SealedSuccessorSweepDeps;
  readonly #options: SealedSuccessorSweepOptions;
  #timer: NodeJS.Timeout | null = null;
  #pass: Promise<number> = Promise.resolve(0);
  #started = false;
  #closed = false;

  constructor(deps: SealedSuccessorSweepDeps, options: SealedSuccessorSweepOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  /** Starts the background loop (idempotent); the first pass runs after one interval. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#schedule();
  }

  /** Whether the background loop is on. */
  running(): boolean {
    return this.#started && !this.#closed;
  }

  /**
   * One pass, now: clears every seal whose reuse interval ended, one bounded
   * statement at a time until a statement clears fewer than a batch. Passes never
   * overlap. Returns how many seals it cleared.
   */
  sweepSealedSuccessors(
    options: { readonly batchSize?: number; readonly onBatch?: (cleared: number) => void } = {},
  ): Promise<number> {
    const pass = this.#pass.catch(() => 0).then(() => this.#sweep(options));
    this.#pass = pass;
    return pass;
  }

  /** Stops the loop and waits for a pass in flight (the database must still be open). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#pass.catch(() => 0);
  }

  async #sweep(options: {
    readonly batchSize?: number;
    readonly onBatch?: (cleared: number) => void;
  }): Promise<number> {
    const batchSize = options.batchSize ?? this.#options.batchSize ?? DEFAULT_SWEEP_BATCH_SIZE;
    const usedBefore = new Date(this.#deps.clock.now().getTime() - this.#options.reuseIntervalSeconds * 1000);
    let total = 0;
    for (;;) {
      const cleared = await this.#deps.uow.run((repos) =>
        repos.refreshTokens.clearSealedSuccessors(usedBefore, batchSize),
      );
      total += cleared;
      options.onBatch?.(cleared);
      // Closing stops a long backlog between statements; the next start picks it up.
      if (cleared < batchSize || this.#closed) return total;
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.sweepSealedSuccessors()
        .catch((error: unknown) => {
          this.#deps.logger?.error({ err: error }, 'sealed successor sweep failed; retrying');
        })
        .finally(() => this.#schedule());
    }, this.#options.intervalSeconds * 1000);
    // The sweep alone never keeps a process alive.
    this.#timer.unref();
  }
}
