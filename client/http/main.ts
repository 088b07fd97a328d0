/** `npm run api`: the HTTP API alone, against TEMPORAL_ADDRESS and DATABASE_URL. Scale by running more. */
import { Client, Connection } from '@temporalio/client';
import { migrate } from '../../activities/postgres/migrate';
import { createPool } from '../../activities/postgres/pool';
import { loadConfig, standaloneEndpoints, type ServiceConfig } from '../config';
import { ConsentClient } from '../consent-client';
import { resolveApiAccess } from './access';
import { createApiLogger } from './logger';
import { buildApiServer } from './server';

export async function startApi(config: ServiceConfig, temporalAddress: string, databaseUrl: string) {
  const { env, keywords } = config;
  const logger = createApiLogger(env.LOG_LEVEL);
  // Before any connection: a configuration that would run the API open stops here.
  const access = resolveApiAccess(env);
  for (const warning of access.warnings) logger.warn(warning);
  const pool = createPool(databaseUrl);
  await migrate(pool);
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const consent = new ConsentClient({
    client,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    pool,
    defaultCountry: env.DEFAULT_COUNTRY,
    sendDecisionTimeoutMs: env.SEND_DECISION_TIMEOUT_MS,
    workflowSettings: { keywords, continueAsNewAfterEvents: env.CONTACT_CONTINUE_AS_NEW_AFTER_EVENTS },
  });
  const app = buildApiServer({
    consent,
    client,
    pool,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    logger,
    apiKeys: access.apiKeys,
    webhooks: access.webhooks,
  });
  const url = await app.listen({ port: env.PORT, host: access.host });
  return {
    url,
    async stop() {
      await app.close();
      await connection.close();
      await pool.end();
    },
  };
}

if (require.main === module) {
  Promise.resolve()
    .then(() => {
      const config = loadConfig();
      const { temporalAddress, databaseUrl } = standaloneEndpoints(config.env, 'API');
      return startApi(config, temporalAddress, databaseUrl);
    })
    .then((api) => {
      console.log(`API listening on ${api.url}`);
      const stop = () => void api.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
