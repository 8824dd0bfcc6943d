import type { Command } from 'commander';
import { type CliIo, cliConfig } from './context.js';

/** `tokenwarden serve`: what `npm start` does, configured by the same environment. */
export function registerServe(program: Command, io: CliIo, onServing: () => void): void {
  program
    .command('serve')
    .description('run the HTTP server (as npm start does; PORT, HOST, DATABASE_URL… from the environment)')
    .action(async () => {
      const config = cliConfig(io.env, 'info');
      const { serve } = await import('../server.js');
      await serve(config);
      onServing();
    });
}
