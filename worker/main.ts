/** `npm run worker`: the worker process alone, against TEMPORAL_ADDRESS and DATABASE_URL. Scale by running more. */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { migrate } from '../activities/postgres/migrate';
import { createPool } from '../activities/postgres/pool';
import { createProvider } from '../activities/providers';
import { standaloneEndpoints, type ServiceConfig, type ServiceEndpoints } from '../client/config';
import type { Logger } from '../client/logger';
import { runServiceProcess, stopOnSignals } from '../client/shutdown';
import { connectTo, describeTemporalConnection } from '../client/temporal-connection';
import { createConsentWorker, prebuiltWorkflowBundle } from './consent-worker';
import { installWorkerRuntime } from './runtime';

export interface RunningWorker {
  worker: Worker;
  /** settles once the worker has drained and its connections and pool are closed */
  done: Promise<void>;
  /** stop polling, let in-flight tasks finish (WORKER_SHUTDOWN_GRACE_MS before activities are told to cancel), close */
  stop(): Promise<void>;
}

/** Starts polling. The caller installs the Runtime first (installWorkerRuntime) and decides when to stop. */
export async function startWorker({ env, profile, clock }: ServiceConfig, { temporal, databaseUrl }: ServiceEndpoints, logger: Logger): Promise<RunningWorker> {
  const pool = createPool(databaseUrl);
  await migrate(pool);
  const connection = await connectTo(temporal, (options) => NativeConnection.connect(options));
  const clientConnection = await connectTo(temporal, (options) => Connection.connect(options));
  const client = new Client({ connection: clientConnection, namespace: env.TEMPORAL_NAMESPACE });
  // From `npm run build`'s dist/: the bundle made once at build time; from the sources (tsx): bundled now.
  const workflowBundlePath = prebuiltWorkflowBundle();
  const worker = await createConsentWorker({
    workflowBundlePath,
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    pool,
    provider: createProvider(env, pool),
    profile,
    client,
    clock,
    tuning: { shutdownGraceTime: env.WORKER_SHUTDOWN_GRACE_MS, maxCachedWorkflows: env.WORKER_MAX_CACHED_WORKFLOWS },
  });
  const done = worker.run().finally(async () => {
    // The SDK holds its log lines up to 100 ms to sort them: out before ours say the worker has drained.
    Runtime.instance().flushLogs();
    await connection.close();
    await clientConnection.close();
    await pool.end();
  });
  if (env.QUIET_HOURS_RULES === 'all-day') {
    logger.warn('QUIET_HOURS_RULES=all-day: the statutes\' quiet hours are not applied (sandboxes and tests only; consent-rules.md §9)');
  }
  logger.info(
    {
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      namespace: env.TEMPORAL_NAMESPACE,
      temporal: describeTemporalConnection(temporal),
      provider: env.SMS_PROVIDER,
      workflows: workflowBundlePath ? `prebuilt bundle ${workflowBundlePath}` : 'bundled at start from workflows/',
    },
    `worker polling task queue ${env.TEMPORAL_TASK_QUEUE}`,
  );
  return {
    worker,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

if (require.main === module) {
  runServiceProcess('worker', async (config, logger) => {
    installWorkerRuntime(config.env, logger);
    if (config.env.METRICS_BIND_ADDRESS) logger.info(`SDK metrics for Prometheus on http://${config.env.METRICS_BIND_ADDRESS}/metrics`);
    const running = await startWorker(config, await standaloneEndpoints(config.env, 'worker'), logger);
    stopOnSignals(logger, 'worker', running.stop);
    await running.done;
  });
}
