import { defineConfig } from 'vitest/config';

/**
 * The workspace packages (`@tokenwarden/client`, `@tokenwarden/verifier`) are imported by
 * name, and resolved through their `tokenwarden-source` export condition to `src/`: a test
 * always runs the code as it is now, never a `dist/` left over from an older build. (The
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
  },
});
