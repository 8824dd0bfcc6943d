import { defineConfig } from 'vitest/config';

/** `npm run test:soak`: the long forms of the reliability and security suites (TOKENWARDEN_SOAK=1). */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts', 'test/security/**/*.test.ts'],
    env: { TOKENWARDEN_SOAK: '1' },
    testTimeout: 900_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
