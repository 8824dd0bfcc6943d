import { ConfigError, loadConfig } from './config.js';
import { serve } from './server.js';

/** `npm start`: parse the environment, build everything, listen, and stop cleanly on a signal. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  await serve(config);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `tokenwarden failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
