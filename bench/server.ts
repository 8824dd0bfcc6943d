/**
 * The server the benchmarks start: `src/main.ts`, plus bench-only switches that the
 * production entry point never reads.
 *
 *   TOKENWARDEN_BENCH_SKIP_VERSION_CHECK=1  refresh without the version check
 *     (no security_config read or lock, no user lock, no stamp comparison), to
 *     price the check (bench/version-check.ts).
 */
import { ConfigError, loadConfig } from '../src/config.js';
import { serve } from '../src/server.js';

try {
  await serve(loadConfig(), {
    refresh: { skipVersionCheck: process.env.TOKENWARDEN_BENCH_SKIP_VERSION_CHECK === '1' },
  });
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
}
