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
    const { createDatabase } = await import('../infrastructure/database/create-database.js');
    const { MIGRATIONS, migrateToLatest } = await import('../infrastructure/database/migrator.js');
    const database = await createDatabase(
      config.database.kind === 'pglite'
        ? { kind: 'pglite', dataDir: config.database.dataDir }
        : { kind: 'postgres', url: config.database.url, poolSize: 1 },
    );
    try {
      const applied = await migrateToLatest(database.db);
      const latest = Object.keys(MIGRATIONS).at(-1) ?? null;
      outputFor(io, options).result({ database: config.database.kind, applied, latest }, () =>
        applied.length === 0
          ? `The ${config.database.kind} database is up to date (latest migration: ${latest ?? 'none'}).`
          : `Applied ${applied.length} migration${applied.length === 1 ? '' : 's'} to the ` +
            `${config.database.kind} database:\n${applied.map((name) => `  ${name}`).join('\n')}`,
      );
    } finally {
      await database.close();
    }
  });
}
