/**
 * What an operator of `npm run worker` sees: JSON log lines (the SDK's and the activities' too, with the workflow and
 * the contact), LOG_LEVEL honoured, SDK metrics for Prometheus on METRICS_BIND_ADDRESS, and no secret in any line.
 * Each in its own worker process: Runtime.install (logger, metrics) happens once per process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHealth } from '../../client/http/health';
import { inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { freePort, startServiceProcess, type ServiceProcess } from '../support/service-process';

let harness: Harness;
const processes: ServiceProcess[] = [];
beforeAll(async () => {
  harness = await startHarness({ worker: false });
});
afterAll(async () => {
  await Promise.all(processes.map((running) => (running.child.exitCode === null ? running.terminate(15_000) : undefined)));
  await harness?.stop();
});

function startWorker(env: Record<string, string> = {}): ServiceProcess {
  const running = startServiceProcess('worker', {
    TEMPORAL_ADDRESS: harness.temporalAddress,
    DATABASE_URL: harness.databaseUrl,
    TEMPORAL_TASK_QUEUE: harness.taskQueue,
    ...env,
  });
  processes.push(running);
  return running;
}

const isPolling = (line: { msg: string }) => line.msg.startsWith('worker polling');

describe('a worker with METRICS_BIND_ADDRESS and LOG_LEVEL=debug', () => {
  let worker: ServiceProcess;
  let metricsUrl: string;
  beforeAll(async () => {
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    worker = startWorker({ METRICS_BIND_ADDRESS: `127.0.0.1:${port}`, LOG_LEVEL: 'debug' });
    await worker.waitForLine(isPolling, 'the worker to poll');
  });

  it('serves the SDK metrics for Prometheus, labelled with its task queue', async () => {
    const metrics = await waitFor(
      async () => (await fetch(metricsUrl)).text(),
      (text) => text.includes('temporal_worker_start') && text.includes('temporal_request'),
      { what: 'temporal_ metrics on /metrics' },
    );
    expect(metrics).toMatch(new RegExp(`^temporal_worker_start\\{[^}]*task_queue="${harness.taskQueue}"`, 'm'));
    expect(metrics).toMatch(/^temporal_num_pollers\{/m);
  });

  it('logs JSON lines: the activity lines carry the workflow id and the contact', async () => {
    const contact = uniquePhone();
    await harness.consent.handleInbound(inboundText(contact, uniquePhone(), 'STOP'));
    const replySent = await worker.waitForLine((line) => line.msg === 'reply sent' && line.contact === contact, 'the reply activity to log');
    expect(replySent).toMatchObject({
      level: 'info',
      name: 'worker',
      workflowId: `contact:${contact}`,
      activityType: 'sendReply',
      attempt: 1,
      kind: 'opt_out_confirmation',
      taskQueue: harness.taskQueue,
    });
    expect(replySent).not.toHaveProperty('taskToken');
    expect((await outboundFor(harness.pool, contact))[0]?.status).toBe('sent');
    // LOG_LEVEL=debug lets the SDK's debug lines through, the TypeScript side's and the Rust core's (forwarded).
    await worker.waitForLine(
      (line) => line.level === 'debug' && line.msg === 'Activity completed' && line.workflowId === `contact:${contact}`,
      "the SDK's debug line for the completed activity",
    );
    expect(worker.lines.some((line) => line.level === 'debug' && line.sdkComponent === 'core')).toBe(true);
    // Every line of the process is JSON, the npm banner aside (--silent) and the workflow bundler's report inside one.
    const stray = worker.output().split('\n').filter((text) => text.trim() !== '' && !text.startsWith('{'));
    expect(stray).toEqual([]);
  });
});

it('LOG_LEVEL=warn: a worker that started and polls has written nothing at info or below', async () => {
  // Its own task queue, so the poller seen is this worker's.
  const taskQueue = `${harness.taskQueue}-warn`;
  const worker = startWorker({ LOG_LEVEL: 'warn', TEMPORAL_TASK_QUEUE: taskQueue });
  await waitFor(
    () => checkHealth(harness.client, harness.pool, harness.namespace, taskQueue),
    (report) => report.checks.worker.startsWith('ok'),
    { timeoutMs: 60_000, intervalMs: 250, what: 'the warn-level worker to poll' },
  );
  await expect(worker.terminate(10_000)).resolves.toMatchObject({ code: 0 });
  expect(worker.lines.filter((line) => !['warn', 'error', 'fatal'].includes(line.level))).toEqual([]);
});

it('a TEMPORAL_API_KEY never appears in the output, even when the connection fails', async () => {
  const apiKey = `tcld_sk_${Math.random().toString(36).slice(2)}_secret`;
  // The test server speaks plaintext: a TLS connection with the key fails at once.
  const worker = startWorker({ TEMPORAL_API_KEY: apiKey, TEMPORAL_TASK_QUEUE: `${harness.taskQueue}-api-key` });
  const { code } = await worker.exited;
  expect(code).toBe(1);
  const fatal = worker.lines.find((line) => line.level === 'fatal');
  expect(fatal?.msg).toBe('worker failed');
  expect(JSON.stringify(fatal?.err)).toContain(`cannot connect to Temporal at ${harness.temporalAddress} (TLS, API key)`);
  expect(worker.output()).not.toContain(apiKey);
});
