import type { Result } from '../../domain/result.js';
import type { ScheduleStep } from '../../domain/rotation-schedule.js';
import { PeriodicTask } from './periodic-task.js';

/** What the timer logs of one run (RunScheduledRotation's outcome has these fields). */
interface ScheduledRunOutcome {
  readonly step: ScheduleStep;
  readonly dueAt: Date | null;
  readonly nextDueAt: Date | null;
  readonly rotation?: { readonly newVersion: number };
}

export interface RotationScheduleTimerDeps {
  /** One run of RunScheduledRotation. */
  readonly run: () => Promise<Result<ScheduledRunOutcome>>;
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
  readonly #loop: PeriodicTask;

  constructor(deps: RotationScheduleTimerDeps, options: { readonly checkSeconds: number }) {
    this.#deps = deps;
    this.#loop = new PeriodicTask({
      intervalSeconds: options.checkSeconds,
      firstDelaySeconds: 0,
      maxBackoffSeconds: MAX_BACKOFF_SECONDS,
      pass: () => this.#check(),
      onError: (error) =>
        deps.logger?.error({ err: error }, 'scheduled rotation check failed; trying again later'),
    });
  }

  /** Starts asking (idempotent): the first check runs at once. */
  start(): void {
    this.#loop.start();
  }

  /** Stops and waits for a run in flight (the database must still be open). */
  close(): Promise<void> {
    return this.#loop.close();
  }

  async #check(): Promise<void> {
    const result = await this.#deps.run();
    if (result.ok && result.value.step !== 'idle') {
      const { step, dueAt, nextDueAt, rotation } = result.value;
      this.#deps.logger?.info(
        { step, dueAt, nextDueAt, newVersion: rotation?.newVersion },
        step === 'rotate' ? 'scheduled global rotation done' : 'scheduled global rotation notice written',
      );
    }
  }
}
