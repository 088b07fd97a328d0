/** `npm run worker`: the worker process alone, against TEMPORAL_ADDRESS and DATABASE_URL. Scale by running more. */
import { NativeConnection } from '@temporalio/worker';
import { migrate } from '../activities/postgres/migrate';
import { createPool } from '../activities/postgres/pool';
import { createProvider } from '../activities/providers';
import { loadConfig, type ServiceConfig } from '../client/config';
import { createConsentWorker } from './consent-worker';

/** Starts polling; `done` settles once the worker has drained (the SDK shuts it down on SIGINT/SIGTERM). */
export async function startWorker({ env, profile }: ServiceConfig, temporalAddress: string, databaseUrl: string) {
  const pool = createPool(databaseUrl);
  await migrate(pool);
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await createConsentWorker({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    pool,
    provider: createProvider(env, pool),
    profile,
  });
  const done = worker.run().finally(async () => {
    await connection.close();
    await pool.end();
  });
  return { worker, done };
}

if (require.main === module) {
  const config = loadConfig();
  const { env } = config;
  if (!env.DATABASE_URL) {
    console.error('DATABASE_URL is required to run the worker on its own (npm start provides one)');
    process.exit(1);
  }
  const address = env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_DEV_PORT}`;
  startWorker(config, address, env.DATABASE_URL)
    .then(({ done }) => {
      console.log(`worker polling task queue ${env.TEMPORAL_TASK_QUEUE} on ${address} (namespace ${env.TEMPORAL_NAMESPACE})`);
      return done;
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
