/**
 * Issue 14 on the actor: evidence never waits for a provider, a reply is checked again when its turn comes, and a
 * failing reply neither holds continue-as-new nor the replies behind it. The provider here fails every call while
 * `down`, as a provider outage does; the dev server, the worker and Postgres are real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contactWorkflowId } from '../../client/consent-client';
import { inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { switchableProvider } from '../support/switchable-provider';

const outage = switchableProvider();
let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ provider: outage.provider, workflowSettings: { continueAsNewAfterEvents: 60 } });
});
afterAll(async () => {
  outage.state.down = false;
  await harness?.stop();
});

async function text(contact: string, business: string, body: string) {
  await harness.consent.handleInbound(inboundText(contact, business, body));
}

async function ledger(contact: string) {
  const { rows } = await harness.pool.query<{ event: string; source: string | null; evidence: Record<string, unknown> }>(
    'SELECT event, source, evidence FROM consent_ledger WHERE contact = $1 ORDER BY id',
    [contact],
  );
  return rows;
}

async function listed(contact: string): Promise<boolean> {
  const { rowCount } = await harness.pool.query('SELECT 1 FROM opt_outs WHERE phone = $1', [contact]);
  return rowCount === 1;
}

const sentOf = async (contact: string, kind: string) => (await outboundFor(harness.pool, contact)).filter((row) => row.kind === kind && row.status === 'sent');

describe('a provider that fails every call', () => {
  it('a STOP after a HELP whose reply keeps failing is listed within 5 s; after recovery the STOP is confirmed once and the HELP answer, no longer true, is withheld', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    outage.state.down = true;
    await text(contact, business, 'HELP');
    // The HELP reply is now retrying against the dead provider.
    await waitFor(() => Promise.resolve(outage.state.calls), (calls) => calls > 0, { what: 'the HELP reply to reach the provider' });
    const stopAt = Date.now();
    await text(contact, business, 'STOP');
    await waitFor(() => listed(contact), Boolean, { what: 'the opt-out list row', timeoutMs: 5000, intervalMs: 20 });
    const listedAfterMs = Date.now() - stopAt;
    expect(listedAfterMs).toBeLessThan(5000);
    expect((await ledger(contact)).map((row) => row.event)).toEqual(expect.arrayContaining(['help_requested', 'opt_out']));
    expect(await harness.consent.canSend(contact, { from: business, type: 'transactional' })).toMatchObject({ allowed: false, code: 'OPTED_OUT' });

    outage.state.down = false;
    const state = await waitFor(
      () => harness.consent.getContactState(contact),
      (current) => current.pendingReplies.length === 0,
      { what: 'the replies to settle after recovery', timeoutMs: 120_000 },
    );
    expect(state.counts.repliesWithheld).toBe(1);
    expect(await sentOf(contact, 'opt_out_confirmation')).toHaveLength(1);
    expect(await sentOf(contact, 'help')).toHaveLength(0);
    const withheld = (await ledger(contact)).filter((row) => row.event === 'reply_withheld');
    expect(withheld).toHaveLength(1);
    expect(withheld[0]).toMatchObject({ source: 'help', evidence: expect.objectContaining({ why: expect.stringContaining('opted out after asking for HELP') }) });
  });

  it('a re-subscribe confirmation whose START was followed by a STOP is not sent; the later STOP is confirmed', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await text(contact, business, 'STOP');
    await waitFor(() => sentOf(contact, 'opt_out_confirmation'), (rows) => rows.length === 1, { what: 'the first confirmation' });
    outage.state.down = true;
    await text(contact, business, 'START');
    await waitFor(() => harness.consent.getContactState(contact), (current) => !current.optedOut, { what: 'the START to apply' });
    await text(contact, business, 'STOP');
    await waitFor(() => harness.consent.getContactState(contact), (current) => current.optedOut, { what: 'the second STOP to apply' });
    outage.state.down = false;
    await waitFor(() => harness.consent.getContactState(contact), (current) => current.pendingReplies.length === 0, {
      what: 'the replies to settle',
      timeoutMs: 120_000,
    });
    expect(await sentOf(contact, 'resubscribe_confirmation')).toHaveLength(0);
    expect(await sentOf(contact, 'opt_out_confirmation')).toHaveLength(2);
    const withheld = (await ledger(contact)).filter((row) => row.event === 'reply_withheld');
    expect(withheld).toEqual([expect.objectContaining({ source: 'resubscribe_confirmation', evidence: expect.objectContaining({ why: expect.stringContaining('opted out after this re-subscribe') }) })]);
  });

  it('continue-as-new is not held by a reply the provider keeps failing: the run rotates carrying it, and it is sent once after recovery', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    outage.state.down = true;
    await text(contact, business, 'HELP');
    const handle = harness.client.workflow.getHandle(contactWorkflowId(contact));
    const firstRun = (await handle.describe()).runId;
    // Ordinary texts until the history passes the test's bound of 60 events.
    for (let i = 0; i < 20; i += 1) await text(contact, business, `see you at ${i}`);
    await waitFor(() => handle.describe(), (description) => description.runId !== firstRun, { what: 'a new run while the HELP reply still fails (after its call of at most a minute)', timeoutMs: 100_000 });
    const carried = await harness.consent.getContactState(contact);
    expect(carried.pendingReplies.map((reply) => reply.kind)).toEqual(['help']);
    expect(await sentOf(contact, 'help')).toHaveLength(0);

    outage.state.down = false;
    await waitFor(() => sentOf(contact, 'help'), (rows) => rows.length === 1, { what: 'the carried HELP reply to go out', timeoutMs: 120_000 });
    await waitFor(() => harness.consent.getContactState(contact), (current) => current.pendingReplies.length === 0, { what: 'the queue to empty' });
    expect(await sentOf(contact, 'help')).toHaveLength(1);
  });
});
