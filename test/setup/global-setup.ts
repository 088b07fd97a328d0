/**
 * Once per `npm test`: one real Temporal dev server (or, with TEMPORAL_TEST_SERVER=cluster, the Temporal server on
 * Postgres) and one fresh Postgres database for the whole run.
 * Test files isolate themselves by task queue and contact numbers.
 */
import { randomInt } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../activities/postgres/migrate';
import { createPool } from '../../activities/postgres/pool';
import { dropDatabase, ensureDatabase, ensurePostgresServer } from '../../dev/postgres';
import { startTemporalCluster } from '../../dev/temporal-cluster';
import { startDevTemporal } from '../../dev/temporal-server';
import { preloadedWorkflowModules, workflowsPath } from '../../worker/consent-worker';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    workflowBundlePath: string;
    /** where test processes claim blocks of contact numbers (test/support/harness.ts uniquePhone) */
    phoneBlocksDir: string;
    /** where this run's numbers start, so two runs against one long-lived server rarely meet */
    phoneBase: number;
  }
}

export default async function setup(project: TestProject) {
  const log = (message: string) => console.error(`[test setup] ${message}`);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'sms-consent-test-'));
  const postgresServer = ensurePostgresServer({ dataDir: path.join(os.tmpdir(), 'sms-consent-test-postgres'), log });
  const [temporal, postgres, bundle] = await Promise.all([
    process.env.TEMPORAL_ADDRESS
      ? Promise.resolve({ address: process.env.TEMPORAL_ADDRESS, stop: async () => undefined })
      : process.env.TEMPORAL_TEST_SERVER === 'cluster'
        ? // npm run test:cluster: the Temporal server on Postgres (its own two databases on the tests' Postgres server).
          postgresServer.then((server) => startTemporalCluster({ postgresUrl: server.url, log }))
        : startDevTemporal({ log }),
    postgresServer,
    bundleWorkflowCode({ workflowsPath: workflowsPath(), preloadModules: preloadedWorkflowModules(), logger: quietBundlerLogger }),
  ]);
  const databaseName = `sms_consent_test_${Date.now()}_${process.pid}`;
  const databaseUrl = await ensureDatabase(postgres.url, databaseName);
  const pool = createPool(databaseUrl, 1);
  await migrate(pool);
  await pool.end();
  const workflowBundlePath = path.join(scratch, 'workflow-bundle.js');
  await writeFile(workflowBundlePath, bundle.code);

  project.provide('temporalAddress', temporal.address);
  project.provide('databaseUrl', databaseUrl);
  project.provide('workflowBundlePath', workflowBundlePath);
  const phoneBlocksDir = path.join(scratch, 'phone-blocks');
  await mkdir(phoneBlocksDir);
  project.provide('phoneBlocksDir', phoneBlocksDir);
  project.provide('phoneBase', randomInt(2 ** 40));
  log(`Temporal at ${temporal.address}, Postgres database ${databaseName} (${postgres.origin})`);

  return async () => {
    await temporal.stop();
    await dropDatabase(postgres.url, databaseName);
    await postgres.stop();
    await rm(scratch, { recursive: true, force: true });
  };
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
