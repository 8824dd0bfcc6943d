export interface PeriodicTaskOptions {
  /** Seconds between the end of one background pass and the start of the next; 0 or less: no loop. */
  readonly intervalSeconds: number;
  /** One background pass; a rejection counts as a failure. */
  readonly pass: () => Promise<unknown>;
  /** Seconds before the first pass after `start()`; the interval when absent. */
  readonly firstDelaySeconds?: number;
  /**
   * After `n` failures in a row the next pass waits `interval × 2ⁿ`, at most this; absent: no
   * backoff. A broken database must not be asked (and logged about) every interval.
   */
  readonly maxBackoffSeconds?: number;
  /** A background pass failed (the loop goes on). */
  readonly onError?: (error: unknown) => void;
}

/**
 * A background loop: one pass, wait an interval (longer after failures with backoff),
 * again, until `close()`. Passes never overlap, neither with each other nor with the
 * ones asked for through `runNow`; the timer is unref'd so the loop alone never keeps a
 * process alive; `close()` waits for a pass in flight.
 *
 * @example
 * const task = new PeriodicTask({ intervalSeconds: 30, pass: () => sweep(), onError: (e) => log(e) });
 * task.start();
 * await task.runNow(() => sweep()); // one pass now, after any in flight
 * await task.close();
 */
export class PeriodicTask {
  readonly #options: PeriodicTaskOptions;
  #timer: NodeJS.Timeout | null = null;
  #pass: Promise<unknown> = Promise.resolve();
  #failures = 0;
  #started = false;
  #closed = false;

  constructor(options: PeriodicTaskOptions) {
    this.#options = options;
  }

  /** Starts the loop (idempotent; nothing when the interval is 0 or the task is closed). */
  start(): void {
    if (this.#started || this.#closed || this.#options.intervalSeconds <= 0) return;
    this.#started = true;
    this.#schedule(this.#options.firstDelaySeconds ?? this.#options.intervalSeconds);
  }

  /** Whether the loop is on. */
  running(): boolean {
    return this.#started && !this.#closed;
  }

  /** Whether `close()` was called: a long pass checks it between its steps to stop early. */
  closed(): boolean {
    return this.#closed;
  }

  /** Runs `pass` once, now, after the pass in flight if any (whatever that one's outcome). */
  runNow<T>(pass: () => Promise<T>): Promise<T> {
    const run = this.#pass.catch(() => undefined).then(() => pass());
    this.#pass = run;
    return run;
  }

  /** Stops the loop and waits for a pass in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#pass.catch(() => undefined);
  }

  #schedule(delaySeconds: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.runNow(this.#options.pass)
        .then(
          () => {
            this.#failures = 0;
          },
          (error: unknown) => {
            this.#failures += 1;
            this.#options.onError?.(error);
          },
        )
        .finally(() => this.#schedule(this.#nextDelay()));
    }, delaySeconds * 1000);
    this.#timer.unref();
  }

  #nextDelay(): number {
    const { intervalSeconds, maxBackoffSeconds } = this.#options;
    if (this.#failures === 0 || maxBackoffSeconds === undefined) return intervalSeconds;
    return Math.min(maxBackoffSeconds, intervalSeconds * 2 ** this.#failures);
  }
}
