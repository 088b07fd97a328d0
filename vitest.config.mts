import { defineConfig } from 'vitest/config';

/**
 * The load tests drive thousands of requests (or 10,000 events into one actor) through one dev server: beside other
 * files they starved them (CI run of stop 17: seven opt-out list tests timed out waiting for their own worker), and
 * were starved in turn. They run last, one at a time, alone.
 */
const LOAD_TESTS = [
  'test/client/generated-requests.test.ts',
  'test/fuzz/api-fuzz.test.ts',
  'test/workflows/bounded-state.test.ts',
  'test/workflows/stop-send-races.test.ts',
  'test/workflows/provider-outage.test.ts',
];

/** What every project shares; the global setup stays at the root, so one dev server and one database serve all. */
const common = {
  // Temporal's native worker runs best in child processes, not worker threads.
  pool: 'forks',
  testTimeout: 60_000,
  hookTimeout: 120_000,
} as const;

export default defineConfig({
  test: {
    globalSetup: ['test/setup/global-setup.ts'],
    projects: [
      // Two cores: two test files at a time beside the dev server and Postgres.
      { test: { ...common, name: 'integration', include: ['test/**/*.test.ts'], exclude: LOAD_TESTS, maxWorkers: 2, sequence: { groupOrder: 0 } } },
      { test: { ...common, name: 'load', include: LOAD_TESTS, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
