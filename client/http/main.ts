/** `npm run api`: the HTTP API alone, against TEMPORAL_ADDRESS and DATABASE_URL. Scale by running more. */
import { Client, Connection } from '@temporalio/client';
import { migrate } from '../../activities/postgres/migrate';
import { createPool } from '../../activities/postgres/pool';
import { standaloneEndpoints, type ServiceConfig, type ServiceEndpoints } from '../config';
import { ConsentClient } from '../consent-client';
import type { Logger } from '../logger';
import { runServiceProcess, stopOnSignals } from '../shutdown';
import { connectTo, describeTemporalConnection } from '../temporal-connection';
import { resolveApiAccess } from './access';
import { buildApiServer } from './server';

export interface RunningApi {
  url: string;
  /** stop accepting connections, finish the requests in flight, then close Temporal and Postgres */
  stop(): Promise<void>;
}

export async function startApi(config: ServiceConfig, { temporal, databaseUrl }: ServiceEndpoints, logger: Logger): Promise<RunningApi> {
  const { env, keywords } = config;
  // Before any connection: a configuration that would run the API open stops here.
  const access = resolveApiAccess(env);
  for (const warning of access.warnings) logger.warn(warning);
  const pool = createPool(databaseUrl);
  await migrate(pool);
  const connection = await connectTo(temporal, (options) => Connection.connect(options));
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const consent = new ConsentClient({
    client,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    pool,
    defaultCountry: env.DEFAULT_COUNTRY,
    sendDecisionTimeoutMs: env.SEND_DECISION_TIMEOUT_MS,
    signalTimeoutMs: env.SIGNAL_TIMEOUT_MS,
    workflowSettings: { keywords, continueAsNewAfterEvents: env.CONTACT_CONTINUE_AS_NEW_AFTER_EVENTS },
    clock: config.clock,
    doubleOptIn: config.doubleOptIn,
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
    // Campaign recipients in national format are read with the account's country, as every other edge reads them.
    defaultCountry: env.DEFAULT_COUNTRY,
    eventSubscriptions: env.EVENT_SUBSCRIPTIONS,
  });
  const url = await app.listen({ port: env.PORT, host: access.host });
  // What was accepted while Temporal was unreachable (by this process or one before it) reaches its actors, in order.
  consent.startBacklogDrain(env.SIGNAL_BACKLOG_DRAIN_MS, { info: (line) => logger.info(line), warn: (line) => logger.warn(line) });
  logger.info({ url, temporal: describeTemporalConnection(temporal), namespace: env.TEMPORAL_NAMESPACE }, `API listening on ${url}`);
  return {
    url,
    async stop() {
      await app.close();
      await consent.stopBacklogDrain();
      await connection.close();
      await pool.end();
    },
  };
}

if (require.main === module) {
  runServiceProcess('api', async (config, logger) => {
    const api = await startApi(config, await standaloneEndpoints(config.env, 'API'), logger);
    stopOnSignals(logger, 'API', api.stop);
  });
}
