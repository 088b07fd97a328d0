import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    // Temporal's native worker runs best in child processes, not worker threads.
    pool: 'forks',
    // Two cores: two test files at a time beside the dev server and Postgres.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
