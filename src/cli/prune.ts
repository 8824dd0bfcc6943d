import type { Command } from 'commander';
import { type CommonOptions, jsonOption, outputFor } from './command-kit.js';
import { type CliIo, withCore } from './context.js';
import { fields } from './output.js';

interface PruneOptions extends CommonOptions {
  readonly dryRun?: boolean;
}

/** `tokenwarden prune`: one retention pass now (docs/RETENTION.md). */
export function registerPrune(program: Command, io: CliIo): void {
  jsonOption(
    program
      .command('prune')
      .description(
        'delete rows past retention now (expired tokens, old sessions, delivered events, …) and print counts per table',
      )
      .option('--dry-run', 'delete nothing; count what a pass now would delete'),
  ).action(async (options: PruneOptions) => {
    const out = outputFor(io, options);
    await withCore(io, async (core) => {
      // Not behind the servers' leader lock, which a server may hold right now: batches skip
      // the rows another pruner holds, so running beside one deletes nothing twice.
      const report = await core.pruner.runOnce({ dryRun: options.dryRun === true, exclusive: false });
      const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
      out.result(
        { dryRun: report.dryRun, counts: report.counts, total, durationMs: Math.round(report.durationMs) },
        () =>
          [
            report.dryRun
              ? `Dry run: nothing was deleted. A prune now would delete ${total} rows:`
              : `Pruned ${total} rows in ${Math.round(report.durationMs)} ms:`,
            fields(Object.entries(report.counts).map(([table, n]) => [table, String(n)] as const)),
          ].join('\n'),
      );
    });
  });
}
