/**
 * `npm run worker` stopped the way Docker and Kubernetes stop it: SIGTERM. It stops polling, lets the activity in
 * flight finish (the reply reaches the provider once and is recorded as sent), closes its connections and exits 0.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OPT_OUT_CONFIRMATION_TEMPLATE } from '../../workflows/domain/settings';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio';
import { inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';

/** How long the provider holds the reply: SIGTERM lands in the middle of it. */
const PROVIDER_HOLD_MS = 3000;
/** Well past the hold, well under Docker's default 10 s before SIGKILL. */
const EXIT_BOUND_MS = 8000;

let harness: Harness;
let twilio: FakeTwilio;
let worker: ServiceProcess | undefined;
beforeAll(async () => {
  [harness, twilio] = await Promise.all([startHarness({ worker: false }), startFakeTwilio()]);
});
afterAll(async () => {
  if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL');
  await twilio?.close();
  await harness?.stop();
});

it('SIGTERM while a reply is at the provider: the worker finishes it, drains, closes and exits 0', async () => {
  twilio.holdMs = PROVIDER_HOLD_MS;
  worker = startServiceProcess('worker', {
    TEMPORAL_ADDRESS: harness.temporalAddress,
    DATABASE_URL: harness.databaseUrl,
    TEMPORAL_TASK_QUEUE: harness.taskQueue,
    SMS_PROVIDER: 'twilio',
    TWILIO_BASE_URL: twilio.baseUrl,
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_AUTH_TOKEN: twilio.authToken,
    LOG_LEVEL: 'info',
  });
  await worker.waitForLine((line) => line.msg.startsWith('worker polling'), 'the worker to poll');

  const contact = uniquePhone();
  const business = uniquePhone();
  await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
  await waitFor(async () => twilio.requests, (requests) => requests === 1, { what: 'the reply to reach the provider' });

  const { code, elapsedMs } = await worker.terminate(EXIT_BOUND_MS);
  expect(code).toBe(0);
  // It waited for the provider's answer rather than abandoning the activity.
  expect(elapsedMs).toBeGreaterThan(PROVIDER_HOLD_MS / 2);

  const [reply] = await outboundFor(harness.pool, contact);
  expect(reply).toMatchObject({ kind: 'opt_out_confirmation', body: OPT_OUT_CONFIRMATION_TEMPLATE, status: 'sent', attempts: 1 });
  expect(twilio.messages.filter((message) => message.to === contact)).toHaveLength(1);

  const messages = worker.lines.map((line) => line.msg);
  expect(messages).toContain('worker: SIGTERM received, draining');
  expect(messages).toContain('reply sent');
  expect(messages.at(-1)).toBe('worker: drained, exiting');
  // The reply finished after the signal and before the exit: drained, not cut off.
  expect(messages.indexOf('reply sent')).toBeGreaterThan(messages.indexOf('worker: SIGTERM received, draining'));
  console.info(`worker exited ${elapsedMs} ms after SIGTERM with a ${PROVIDER_HOLD_MS} ms provider call in flight`);
});
