import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OPT_OUT_CONFIRMATION_TEMPLATE } from '../../workflows/domain/settings';
import { killWorkerProcess, spawnWorkerProcess } from '../support/spawn-worker';
import { inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

let harness: Harness;
const children: ChildProcess[] = [];
beforeAll(async () => {
  harness = await startHarness({ worker: false });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await harness?.stop();
});

async function startWorkerProcess(holdAfterProviderMs: number): Promise<ChildProcess> {
  const child = await spawnWorkerProcess(harness, { HOLD_AFTER_PROVIDER_MS: String(holdAfterProviderMs) });
  children.push(child);
  return child;
}

it('a STOP processed while the worker is killed and restarted still produces exactly one confirmation', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  // Accepted while no worker runs: signalWithStart makes the text durable in Temporal.
  await harness.consent.handleInbound(inboundText(contact, business, 'STOP', 'SM-kill-stop'));

  const first = await startWorkerProcess(60_000);
  // The provider has the message, the outbox still says "sending": kill the worker right there.
  await waitFor(
    async () => {
      const [row] = (await harness.pool.query('SELECT count(*)::int AS n FROM sandbox_messages WHERE to_number = $1', [contact])).rows;
      const [outbox] = await outboundFor(harness.pool, contact);
      return { delivered: row.n as number, status: outbox?.status };
    },
    (seen) => seen.delivered === 1 && seen.status === 'sending',
    { what: 'the provider to accept the confirmation' },
  );
  await killWorkerProcess(first);

  await startWorkerProcess(0);
  // The activity's start-to-close timeout (15 s) expires, Temporal retries it on the new worker.
  const [sent] = await waitFor(() => outboundFor(harness.pool, contact), (rows) => rows[0]?.status === 'sent', {
    timeoutMs: 60_000,
    what: 'the retried confirmation to be recorded as sent',
  });
  const outbox = await outboundFor(harness.pool, contact);
  expect(outbox).toHaveLength(1);
  expect(sent).toMatchObject({ kind: 'opt_out_confirmation', body: OPT_OUT_CONFIRMATION_TEMPLATE, attempts: 2 });
  const delivered = await harness.pool.query('SELECT provider_message_id FROM sandbox_messages WHERE to_number = $1', [contact]);
  expect(delivered.rows).toHaveLength(1);
  expect(delivered.rows[0].provider_message_id).toBe(sent!.provider_message_id);
  const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.pendingReplies.length === 0);
  expect(state).toMatchObject({ optedOut: true, counts: { repliesSent: 1, repliesFailed: 0 } });
});
