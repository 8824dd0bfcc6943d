import { loadConfig } from './config.js';
import { loadEnvFile } from './env-file.js';
import { serve } from './server.js';
import { reportStartupFailure } from './startup-failure.js';

/**
 * `npm start`: read `.env` (the environment wins), parse the environment, build everything,
 * listen, and stop cleanly on a signal. A failed start is one JSON line with a `code`.
 */
async function main(): Promise<void> {
  const envFile = loadEnvFile();
  await serve(loadConfig(), {}, { envFile });
}

main().catch((error: unknown) => {
  process.exit(reportStartupFailure(error));
});
