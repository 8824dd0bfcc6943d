import type { Command } from 'commander';
import type { Core } from '../composition-root.js';
import type { Page } from '../domain/page.js';
import type { Result } from '../domain/result.js';
import { type CliIo, withCore } from './context.js';
import { fromTokenwardenError } from './errors.js';
import { createOutput, type Output, type PageText } from './output.js';
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

/** A list command's work: one page, fetched with its `--limit` and `--cursor`, printed ({@link Output.page}). */
export function listPage<T>(
  io: CliIo,
  options: CommonOptions & Paging,
  fetch: (core: Core, paging: Paging) => Promise<Result<Page<T>>>,
  text: PageText<T>,
): Promise<void> {
  return withCore(io, async (core) => {
    const page = unwrap(await fetch(core, { limit: options.limit, cursor: options.cursor }));
    outputFor(io, options).page(page, text);
  });
}

export function outputFor(io: CliIo, options: CommonOptions): Output {
  return createOutput(io.stdout, io.stderr, options.json === true);
}

/** A handler's value, or its expected failure as the CLI's (exit 2 for invalid input, else 1). */
export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw fromTokenwardenError(result.error);
  return result.value;
}
