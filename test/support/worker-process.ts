/**
 * A worker in its own process, so a test can kill it with SIGKILL mid-activity.
 * HOLD_AFTER_PROVIDER_MS keeps the reply activity waiting after the provider accepted the message,
 * the worst moment to die: delivered, not yet recorded as sent.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createPool } from '../../activities/postgres/pool';
import { createSandboxProvider } from '../../activities/providers/sandbox';
import type { SmsProvider } from '../../activities/providers/provider';
import { createConsentWorker } from '../../worker/consent-worker';
import { ALWAYS_OPEN } from './clock';
import { TEST_PROFILE } from './profile';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { TEMPORAL_ADDRESS, DATABASE_URL, TASK_QUEUE, WORKFLOW_BUNDLE_PATH, HOLD_AFTER_PROVIDER_MS } = process.env;
  const pool = createPool(DATABASE_URL!, 2);
  const sandbox = createSandboxProvider(pool);
  const holdMs = Number(HOLD_AFTER_PROVIDER_MS ?? 0);
  const provider: SmsProvider = {
    name: sandbox.name,
    async send(message) {
      const result = await sandbox.send(message);
      if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
      return result;
    },
    findSent: (message, since) => sandbox.findSent(message, since),
  };
  const connection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS! });
  const worker = await createConsentWorker({
    connection,
    namespace: 'default',
    taskQueue: TASK_QUEUE!,
    pool,
    provider,
    profile: TEST_PROFILE,
    client: new Client({ connection: await Connection.connect({ address: TEMPORAL_ADDRESS! }) }),
    workflowBundlePath: WORKFLOW_BUNDLE_PATH,
    // As in the harness: tests of other things do not depend on the hour they run at.
    clock: ALWAYS_OPEN,
  });
  const running = worker.run();
  process.stdout.write('worker ready\n');
  await running;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
