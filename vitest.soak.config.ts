import { defineConfig } from 'vitest/config';

/** `npm run test:soak`: the long forms of the reliability and security suites (TOKENWARDEN_SOAK=1). */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts', 'test/security/**/*.test.ts'],
    // The crash test's long form is the `--kills 20` run that follows in test:soak.
    exclude: ['test/reliability/crash.test.ts'],
    env: { TOKENWARDEN_SOAK: '1' },
    testTimeout: 900_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
