import { afterAll, beforeAll, expect, it } from 'vitest';
import { contactWorkflowId } from '../../client/consent-client';
import { inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

/** A low bound forces continue-as-new after a few dozen events, so rotation is exercised in every run. */
const BOUND = 40;
let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ workflowSettings: { continueAsNewAfterEvents: BOUND } });
});
afterAll(async () => {
  await harness?.stop();
});

it('state, pending replies and the dedupe list survive continue-as-new, and no signal is lost across it', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  const other = uniquePhone();
  const handle = harness.client.workflow.getHandle(contactWorkflowId(contact));
  await harness.consent.handleInbound(inboundText(contact, business, 'Hello there', 'SM-can-0'));
  const firstRunId = (await handle.describe()).runId;

  // 60 texts, fired 29 at a time without waiting: ordinary messages and a HELP, then (once HELP is answered) a STOP, then 30 more.
  const burst = (from: number, to: number) =>
    Promise.all(
      Array.from({ length: to - from + 1 }, (_, k) => from + k).map((i) =>
        harness.consent.handleInbound(inboundText(contact, i % 2 ? business : other, i === 10 ? 'HELP' : `message ${i}`, `SM-can-${i}`)),
      ),
    );
  await burst(1, 29);
  // The HELP is answered before the STOP: an answer whose turn came after the STOP would be withheld, as no longer true.
  await waitFor(() => outboundFor(harness.pool, contact), (rows) => rows.some((row) => row.kind === 'help'), { what: 'the HELP answer' });
  await harness.consent.handleInbound(inboundText(contact, business, 'STOP', 'SM-can-30'));
  await burst(31, 60);

  const state = await waitFor(
    () => harness.consent.getContactState(contact),
    (s) => s.counts.inbound === 61 && s.pendingReplies.length === 0,
    { what: 'all 61 texts processed' },
  );
  const description = await handle.describe();
  expect(description.runId).not.toBe(firstRunId);
  expect(description.historyLength).toBeLessThan(BOUND * 3);

  expect(state.optedOut).toBe(true);
  expect(state.optOut).toMatchObject({ messageId: 'SM-can-30', source: 'keyword' });
  // Texts before the STOP opened both threads; the ones after it grant nothing more.
  expect(state.threads.map((t) => t.businessNumber).sort()).toEqual([business, other].sort());
  expect(state.recentMessageIds).toContain('SM-can-0');
  expect((await outboundFor(harness.pool, contact)).map((m) => m.kind)).toEqual(['help', 'opt_out_confirmation']);

  // The first message id, processed two runs ago, is still recognised as a duplicate.
  await harness.consent.handleInbound(inboundText(contact, business, 'START', 'SM-can-0'));
  const after = await waitFor(() => harness.consent.getContactState(contact), (s) => s.counts.duplicates === 1);
  expect(after.optedOut).toBe(true);
});
