import { defineConfig } from 'vitest/config';

/**
 * The replay corpus generator, apart from `npm test`: the suite's dev server, database and workflow bundle, one file.
 * `REPLAY_VERSION=v2 npx vitest run --config vitest.capture.config.mts` writes test/replay/histories/v2/.
 */
export default defineConfig({
  test: {
    include: ['test/replay/capture.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    // Temporal's native worker runs best in child processes, not worker threads.
    pool: 'forks',
    maxWorkers: 1,
    // Scenarios run one after another; one waits out a 30 s send decision.
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
