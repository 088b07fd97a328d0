/** `npm run worker`: the worker process alone, against TEMPORAL_ADDRESS and DATABASE_URL. Scale by running more. */
import { Client, Connection } from '@temporalio/client';
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
  const clientConnection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection: clientConnection, namespace: env.TEMPORAL_NAMESPACE });
  const worker = await createConsentWorker({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    pool,
    provider: createProvider(env, pool),
    profile,
    client,
  });
  const done = worker.run().finally(async () => {
    await connection.close();
    await clientConnection.close();
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
