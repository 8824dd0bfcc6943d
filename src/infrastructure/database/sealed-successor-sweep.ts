import type { Clock } from '../../application/ports/clock.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';
import { PeriodicTask } from '../scheduling/periodic-task.js';

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
  readonly #loop: PeriodicTask;

  constructor(deps: SealedSuccessorSweepDeps, options: SealedSuccessorSweepOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#loop = new PeriodicTask({
      intervalSeconds: options.intervalSeconds,
      pass: () => this.#sweep({}),
      onError: (error) => deps.logger?.error({ err: error }, 'sealed successor sweep failed; retrying'),
    });
  }

  /** Starts the background loop (idempotent); the first pass runs after one interval. */
  start(): void {
    this.#loop.start();
  }

  /** Whether the background loop is on. */
  running(): boolean {
    return this.#loop.running();
  }

  /**
   * One pass, now: clears every seal whose reuse interval ended, one bounded
   * statement at a time until a statement clears fewer than a batch. Passes never
   * overlap. Returns how many seals it cleared.
   */
  sweepSealedSuccessors(
    options: { readonly batchSize?: number; readonly onBatch?: (cleared: number) => void } = {},
  ): Promise<number> {
    return this.#loop.runNow(() => this.#sweep(options));
  }

  /** Stops the loop and waits for a pass in flight (the database must still be open). */
  close(): Promise<void> {
    return this.#loop.close();
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
      if (cleared < batchSize || this.#loop.closed()) return total;
    }
  }
}
