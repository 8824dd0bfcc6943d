import type { Command } from 'commander';
import type { Result } from '../domain/result.js';
import type { CliIo } from './context.js';
import { fromTokenwardenError } from './errors.js';
import { createOutput, type Output } from './output.js';
import { integerIn } from './parsers.js';

/** The options every leaf command takes. */
export interface CommonOptions {
  readonly json?: boolean;
}

/** Adds `--json` to a leaf command. */
export function jsonOption(command: Command): Command {
  return command.option('--json', 'print JSON instead of text');
}

/** The options {@link paging} adds. */
export interface Paging {
  readonly limit: number;
  readonly cursor?: string;
}

/** Adds a list command's paging: `--limit` (1-1000, `defaultLimit` when absent) and `--cursor`. */
export function paging(command: Command, noun: string, defaultLimit: number): Command {
  return command
    .option('--limit <n>', `at most this many ${noun} (1-1000)`, integerIn(1, 1000), defaultLimit)
    .option('--cursor <cursor>', 'continue from the cursor a previous page printed');
}

export function outputFor(io: CliIo, options: CommonOptions): Output {
  return createOutput(io.stdout, io.stderr, options.json === true);
}

/** A handler's value, or its expected failure as the CLI's (exit 2 for invalid input, else 1). */
export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw fromTokenwardenError(result.error);
  return result.value;
}
