import type { TokenwardenError } from '../domain/errors.js';

/** Exit codes: 0 done, 1 the operation failed, 2 the command line (or environment) was wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure the CLI reports as one line on stderr and an exit code, without a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string): CliError => new CliError(message, EXIT_USAGE);

/**
 * A handler's expected failure as a CLI failure: invalid input is a usage error
 * (exit 2), anything else (not found, taken) a failed operation (exit 1).
 */
export function fromTokenwardenError(error: TokenwardenError): CliError {
  const fields = error.extensions.errors;
  if (error.code === 'validation_failed') {
    const message = Array.isArray(fields)
      ? (fields as readonly { path: string; message: string }[])
          .map((f) => `${f.path.replace(/^\//, '')} ${f.message}`)
          .join('; ')
      : error.message;
    return usageError(message);
  }
  return new CliError(`${error.message} (${error.code})`);
}
