import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/support/slow-first-sequencer.js';

/**
 * The workspace packages (`@tokenwarden/client`, `@tokenwarden/jws`, `@tokenwarden/verifier`)
 * are imported by name, and resolved through their `tokenwarden-source` export condition to
 * `src/`: a test always runs the code as it is now, never a `dist/` left over from an older build. (The
 * packaging test under test/packaging checks the built, packed form.) Vite's default server
 * conditions follow it.
 */
const SOURCE_CONDITIONS = ['tokenwarden-source', 'module', 'node', 'development|production'];

export default defineConfig({
  ssr: { resolve: { conditions: SOURCE_CONDITIONS } },
  test: {
    include: [
      'src/**/*.test.ts',
      'test/**/*.test.ts',
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores here and in CI: more workers only fight over them (argon2, PGlite wasm).
    maxWorkers: 2,
    // Each worker runs file after file in one process: a fresh process per file imported
    // fastify, kysely, PGlite's wasm and the whole of src/ again, seconds a file (src/ and
    // packages/: 129 s → 72 s). Tests do not rely on a fresh process: each makes its own
    // database, app and rows, closes what it opens, and leaves process-wide state (signal
    // listeners, env) as it found it (the CLI harness checks its part).
    isolate: false,
    // The slowest files first, so neither worker is left alone with a long one at the end.
    sequence: { sequencer: SlowFirstSequencer },
  },
});
