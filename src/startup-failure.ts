import pino, { type DestinationStream } from 'pino';
import { ConfigError } from './config.js';
import { errorSummary } from './domain/error-summary.js';
import { baseLogOptions } from './infrastructure/logging/base-log-options.js';
import { StartupError } from './startup-error.js';

/** Exit codes of a failed start: 2 the environment is wrong (a bad variable), 1 anything else. */
const EXIT_CONFIG = 2;
const EXIT_FAILED = 1;

/**
 * Writes why the server could not start as one JSON log line (level fatal, name
 * `startup`) with a stable `code`, and returns the exit code. A bad variable is named
 * with its value (not a secret's); the stack is added only at `LOG_LEVEL=debug` or
 * `trace`, so an operator reads the cause, not a trace.
 *
 * Codes: `config_invalid`, every {@link StartupError} code (`database_unreachable`,
 * `data_dir_in_use`, `master_key_wrong`, `port_in_use`…), `startup_failed` for the rest.
 *
 * @example
 * main().catch((error) => process.exit(reportStartupFailure(error)));
 */
export function reportStartupFailure(
  error: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
  destination: DestinationStream = pino.destination({ fd: 2, sync: true }),
): number {
  const level = env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace' ? env.LOG_LEVEL : 'info';
  const log = pino(baseLogOptions(level, 'startup'), destination);
  const stack =
    (level === 'debug' || level === 'trace') && error instanceof Error ? { stack: error.stack } : {};
  if (error instanceof ConfigError) {
    log.fatal(
      { code: error.code, problems: error.problems, ...stack },
      `invalid configuration: ${error.problems.map((p) => p.message).join('; ')}`,
    );
    return EXIT_CONFIG;
  }
  if (error instanceof StartupError) {
    log.fatal({ code: error.code, ...causeOf(error.cause), ...stack }, error.message);
    return EXIT_FAILED;
  }
  log.fatal({ code: 'startup_failed', ...stack }, `tokenwarden failed to start: ${errorSummary(error)}`);
  return EXIT_FAILED;
}

function causeOf(cause: unknown): { cause?: string } {
  if (cause === undefined) return {};
  const inner = cause instanceof Error && cause.cause !== undefined ? cause.cause : cause;
  return { cause: errorSummary(inner) };
}
