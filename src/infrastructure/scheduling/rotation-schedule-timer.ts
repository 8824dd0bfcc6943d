import type { ScheduledRotationOutcome } from '../../application/commands/run-scheduled-rotation/handler.js';
import type { Result } from '../../domain/result.js';

export interface RotationScheduleTimerDeps {
  /** One run of RunScheduledRotation. */
  readonly run: () => Promise<Result<ScheduledRotationOutcome>>;
  readonly logger?: {
    info(details: object, message: string): void;
    error(details: object, message: string): void;
  };
}

/** After failures the timer waits longer, up to this: a broken database must not fill the audit log. */
const MAX_BACKOFF_SECONDS = 900;

/**
 * Asks the rotation schedule, every `checkSeconds` and once at start, whether a notice
 * or a rotation is owed. It only decides when to ask: every instance runs one, and the
 * handler's locked transaction makes sure each due time is acted on once. At start
 * this is what rotates (once) for due times missed while the service was down.
 *
 * @example
 * const timer = new RotationScheduleTimer({ run: () => handler.handle(RunScheduledRotation()) }, { checkSeconds: 30 });
 * timer.start();
 * await timer.close();
 */
export class RotationScheduleTimer {
  readonly #deps: RotationScheduleTimerDeps;
  readonly #checkSeconds: number;
  #timer: NodeJS.Timeout | null = null;
  #run: Promise<unknown> = Promise.resolve();
  #failures = 0;
  #started = false;
  #closed = false;

  constructor(deps: RotationScheduleTimerDeps, options: { readonly checkSeconds: number }) {
    this.#deps = deps;
    this.#checkSeconds = options.checkSeconds;
  }

  /** Starts asking (idempotent): the first check runs at once. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#schedule(0);
  }

  /** Stops and waits for a run in flight (the database must still be open). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#run.catch(() => {});
  }

  #schedule(delaySeconds: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const run = this.#check();
      this.#run = run;
      void run.finally(() => {
        const backoff = Math.min(MAX_BACKOFF_SECONDS, this.#checkSeconds * 2 ** this.#failures);
        this.#schedule(this.#failures === 0 ? this.#checkSeconds : backoff);
      });
    }, delaySeconds * 1000);
    // The schedule alone never keeps a process alive.
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    try {
      const result = await this.#deps.run();
      this.#failures = 0;
      if (result.ok && result.value.step !== 'idle') {
        const { step, dueAt, nextDueAt, rotation } = result.value;
        this.#deps.logger?.info(
          { step, dueAt, nextDueAt, newVersion: rotation?.newVersion },
          step === 'rotate' ? 'scheduled global rotation done' : 'scheduled global rotation notice written',
        );
      }
    } catch (error) {
      this.#failures += 1;
      this.#deps.logger?.error({ err: error }, 'scheduled rotation check failed; trying again later');
    }
  }
}
