import type { Command } from 'commander';
import { type CommonOptions, jsonOption, outputFor } from './command-kit.js';
import { type CliIo, cliConfig } from './context.js';

/** `tokenwarden migrate`: bring the schema up to date without starting anything. */
export function registerMigrate(program: Command, io: CliIo): void {
  jsonOption(
    program
      .command('migrate')
      .description('apply pending database migrations (the server also does this on start)'),
  ).action(async (options: CommonOptions) => {
    const config = cliConfig(io.env);
    // Loaded on demand, as in withCore: --help answers without loading the database stack.
    const { migrateDatabase } = await import('../composition-root.js');
    const { applied, latest } = await migrateDatabase(config, { write: (line) => io.stderr.write(line) });
    outputFor(io, options).result({ database: config.database.kind, applied, latest }, () =>
      applied.length === 0
        ? `The ${config.database.kind} database is up to date (latest migration: ${latest ?? 'none'}).`
        : `Applied ${applied.length} migration${applied.length === 1 ? '' : 's'} to the ` +
          `${config.database.kind} database:\n${applied.map((name) => `  ${name}`).join('\n')}`,
    );
  });
}
