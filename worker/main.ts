/** `npm run worker`: the worker process alone, against TEMPORAL_ADDRESS and DATABASE_URL. Scale by running more. */
import { NativeConnection } from '@temporalio/worker';
import { migrate } from '../activities/postgres/migrate';
import { createPool } from '../activities/postgres/pool';
import { createProvider } from '../activities/providers';
import { loadConfig } from '../client/config';
import { createConsentWorker } from './consent-worker';

async function main(): Promise<void> {
  const { env, profile } = loadConfig();
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is required to run the worker on its own (npm start provides one)');
  const address = env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_DEV_PORT}`;
  const pool = createPool(env.DATABASE_URL);
  await migrate(pool);
  const connection = await NativeConnection.connect({ address });
  const worker = await createConsentWorker({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    pool,
    provider: createProvider(env, pool),
    profile,
  });
  console.log(`worker polling task queue ${env.TEMPORAL_TASK_QUEUE} on ${address} (namespace ${env.TEMPORAL_NAMESPACE})`);
  // The SDK's runtime drains the worker on SIGINT/SIGTERM; run() returns once it has.
  await worker.run();
  await connection.close();
  await pool.end();
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
