/** `npm run worker`: the worker process alone, against TEMPORAL_ADDRESS and DATABASE_URL. Scale by running more. */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { migrate } from '../activities/postgres/migrate';
import { createPool } from '../activities/postgres/pool';
import { createProvider } from '../activities/providers';
import { loadConfig, standaloneEndpoints, type ServiceConfig } from '../client/config';
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
  Promise.resolve()
    .then(async () => {
      const config = loadConfig();
      const { env } = config;
      const { temporalAddress, databaseUrl } = standaloneEndpoints(env, 'worker');
      const { done } = await startWorker(config, temporalAddress, databaseUrl);
      console.log(`worker polling task queue ${env.TEMPORAL_TASK_QUEUE} on ${temporalAddress} (namespace ${env.TEMPORAL_NAMESPACE})`);
      return done;
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
