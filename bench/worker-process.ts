/**
 * A worker under test, in its own process so its memory can be read from /proc and its CPU is not the driver's:
 * the consent worker (production workflows and activities), or the baselines' no-op worker with the same tuning.
 * Configured by environment (BENCH_WORKER_CONFIG, JSON); prints "worker ready" once it polls.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createPool } from '../activities/postgres/pool';
import { createSandboxProvider } from '../activities/providers/sandbox';
import { createConsentWorker, type ConsentWorkerTuning } from '../worker/consent-worker';
import type { ComplianceClockSettings } from '../workflows/domain/compliance-clock';
import { DEFAULT_ACCOUNT_PROFILE } from '../workflows/domain/settings';
import { noopSignalCountQuery, type NoopActivities } from './workflows';

export interface BenchWorkerConfig {
  /** consent: the production workflows and activities; noop: the baselines' no-op workflow, nothing else */
  kind: 'consent' | 'noop';
  temporalAddress: string;
  databaseUrl: string;
  namespace: string;
  taskQueue: string;
  bundlePath: string;
  tuning: ConsentWorkerTuning;
  postgresPoolSize: number;
  /** expose the SDK's Prometheus metrics on 127.0.0.1:<port> (worker-side latencies for profiling) */
  metricsPort?: number;
  /** the consent worker's compliance clock (its send gate's quiet-hours windows); absent: the statutes', as production */
  clock?: ComplianceClockSettings;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.BENCH_WORKER_CONFIG ?? '') as BenchWorkerConfig;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    ...(config.metricsPort
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${config.metricsPort}` } } } }
      : {}),
  });
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const closers: (() => Promise<void>)[] = [() => connection.close()];
  let worker: Worker;
  if (config.kind === 'consent') {
    const pool = createPool(config.databaseUrl, config.postgresPoolSize);
    const clientConnection = await Connection.connect({ address: config.temporalAddress });
    closers.push(() => clientConnection.close(), () => pool.end());
    worker = await createConsentWorker({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      pool,
      provider: createSandboxProvider(pool),
      profile: DEFAULT_ACCOUNT_PROFILE,
      client: new Client({ connection: clientConnection, namespace: config.namespace }),
      workflowBundlePath: config.bundlePath,
      tuning: config.tuning,
      clock: config.clock,
    });
  } else {
    // The baselines' activities: nothing, or one query to a no-op workflow (bench/workflows/index.ts).
    const clientConnection = await Connection.connect({ address: config.temporalAddress });
    closers.push(() => clientConnection.close());
    const client = new Client({ connection: clientConnection, namespace: config.namespace });
    const activities: NoopActivities = {
      async noopActivity() {},
      async noopQueryActivity(workflowId) {
        return client.workflow.getHandle(workflowId).query(noopSignalCountQuery);
      },
    };
    worker = await Worker.create({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      workflowBundle: { codePath: config.bundlePath },
      activities,
      ...config.tuning,
    });
  }
  const running = worker.run();
  // The driver asks for the worker's own view (cached workflows, activations in flight) while a scenario runs.
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'status') process.send?.({ type: 'status', status: worker.getStatus() });
  });
  // SIGTERM from the driver: the SDK's runtime drains the worker itself (its default shutdown signals).
  process.stdout.write('worker ready\n');
  await running;
  for (const close of closers.reverse()) await close();
  // The IPC channel to the driver would keep this process alive after the worker drained (measured: every stop
  // waited for the driver's 30 s SIGKILL, which dominated the send check's restarts).
  process.disconnect?.();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
