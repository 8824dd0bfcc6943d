import { constants } from 'node:os';
import type { CliIo } from './context.js';

/** Undoes {@link holdStopSignals}: the signals kill the process again. */
export type ReleaseStopSignals = () => void;

/**
 * While a command works on the database, SIGINT and SIGTERM let it finish and close the
 * database (so PGlite's files are whole and its lock is released) instead of killing the
 * process mid-write. A command still running `timeoutSeconds` later (a prompt waiting, a
 * database that does not answer) is ended then, and a second signal ends it at once,
 * with the shell's code for that signal (130 for SIGINT, 143 for SIGTERM).
 *
 * @example
 * const release = holdStopSignals(io, config.shutdownTimeoutSeconds);
 * try { await work(); } finally { release(); }
 */
export function holdStopSignals(io: CliIo, timeoutSeconds: number): ReleaseStopSignals {
  let deadline: NodeJS.Timeout | undefined;
  const exitCode = (signal: NodeJS.Signals) => 128 + (constants.signals[signal] ?? 15);
  const onSignal = (signal: NodeJS.Signals) => {
    if (deadline !== undefined) {
      process.exit(exitCode(signal));
    }
    io.stderr.write(
      `tokenwarden: ${signal}: finishing the current command and closing the database (again to stop at once)\n`,
    );
    deadline = setTimeout(() => {
      io.stderr.write(`tokenwarden: still running ${timeoutSeconds} s after ${signal}: stopping now\n`);
      process.exit(exitCode(signal));
    }, timeoutSeconds * 1000);
    // Nothing else left to do is a clean exit; the deadline must not hold the process open.
    deadline.unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (deadline !== undefined) clearTimeout(deadline);
  };
}
