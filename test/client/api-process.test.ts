/**
 * `npm run api` stopped with SIGTERM: it stops accepting connections at once, answers the request in flight,
 * closes Temporal and Postgres, and exits 0.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, uniquePhone, type Harness } from '../support/harness';
import { refusesConnections, startServiceProcess, type ServiceProcess } from '../support/service-process';

/** The in-flight request: a send nobody decides (no worker on the queue) answers 503 after this long. */
const SEND_DECISION_TIMEOUT_MS = 3000;

let harness: Harness;
let api: ServiceProcess | undefined;
beforeAll(async () => {
  harness = await startHarness({ worker: false });
});
afterAll(async () => {
  if (api && api.child.exitCode === null) api.child.kill('SIGKILL');
  await harness?.stop();
});

it('SIGTERM: the port closes at once, the request in flight still gets its answer, then the API exits 0', async () => {
  api = startServiceProcess('api', {
    TEMPORAL_ADDRESS: harness.temporalAddress,
    DATABASE_URL: harness.databaseUrl,
    TEMPORAL_TASK_QUEUE: `${harness.taskQueue}-no-worker`,
    PORT: '0',
    SEND_DECISION_TIMEOUT_MS: String(SEND_DECISION_TIMEOUT_MS),
  });
  const listening = await api.waitForLine((line) => line.msg.startsWith('API listening'), 'the API to listen');
  const url = String(listening.url);
  expect((await fetch(`${url}/v1/programs`)).status).toBe(200);

  const inFlight = fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to: uniquePhone(), from: uniquePhone(), body: 'Your order shipped.', type: 'transactional', idempotencyKey: randomUUID() }),
  });
  await new Promise((resolve) => setTimeout(resolve, 500));

  const exit = api.terminate(SEND_DECISION_TIMEOUT_MS + 5000);
  const refusedAt = await refusesConnections(url, 2000);
  const answer = await inFlight;
  expect(answer.status).toBe(503);
  expect(await answer.json()).toMatchObject({ status: 'refused', code: 'STATE_UNAVAILABLE' });

  const { code, elapsedMs } = await exit;
  expect(code).toBe(0);
  const exitedAt = (await api.exited).at;
  // Refused new connections while it was still finishing the old request.
  expect(refusedAt).toBeLessThan(exitedAt);
  const messages = api.lines.map((line) => line.msg);
  expect(messages).toContain('API: SIGTERM received, draining');
  expect(messages.at(-1)).toBe('API: drained, exiting');
  console.info(`API exited ${elapsedMs} ms after SIGTERM with a request in flight; port refused ${refusedAt - (exitedAt - elapsedMs)} ms after the signal`);
});
