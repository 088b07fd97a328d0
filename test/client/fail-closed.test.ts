import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConsentClient, ContactStateUnavailableError } from '../../client/consent-client';
import { inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ worker: false });
});
afterAll(async () => {
  await harness?.stop();
});

it('with no worker running, a STOP is still accepted, a send check fails closed, and the STOP takes effect once a worker starts', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  await harness.consent.handleInbound(inboundText(contact, business, 'Hi, are you open today?'));
  await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));

  // No worker can answer the query: the engine refuses to guess rather than allow.
  await expect(harness.consent.canSend(contact, { from: business, type: 'conversational' })).rejects.toBeInstanceOf(ContactStateUnavailableError);

  await harness.startWorker();
  const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.pendingReplies.length === 0 && s.counts.inbound === 2);
  expect(state.optedOut).toBe(true);
  expect(await harness.consent.canSend(contact, { from: business, type: 'conversational' })).toMatchObject({ code: 'OPTED_OUT' });
  expect((await outboundFor(harness.pool, contact)).map((m) => m.kind)).toEqual(['opt_out_confirmation']);
});

it('with the worker stopped, a send is refused with STATE_UNAVAILABLE and never goes out, even once a worker is back', async () => {
  const short = await startHarness({ worker: false, sendDecisionTimeoutMs: 2000 });
  try {
    const contact = uniquePhone();
    const business = uniquePhone();
    await short.consent.handleInbound(inboundText(contact, business, 'Hello, is the office open?'));
    const answer = await short.consent.sendMessage({ to: contact, from: business, body: 'Yes, until 6pm.', type: 'conversational', idempotencyKey: `late-${contact}` });
    expect(answer).toMatchObject({ status: 'refused', code: 'STATE_UNAVAILABLE' });
    // The refusal is evidence too, even though no workflow decided it.
    const { entries } = await short.consent.getContactHistory(contact);
    expect(entries).toEqual([expect.objectContaining({ event: 'send_refused', source: 'STATE_UNAVAILABLE', workflowId: `send:late-${contact}` })]);

    await short.startWorker();
    // The send workflow's attempt runs once the worker is back, with its implied consent now readable: it finds its
    // outbox row fenced by the caller that stopped waiting, and sends nothing.
    await waitFor(() => short.consent.getContactState(contact), (s) => s.counts.inbound === 1, { what: 'the worker to catch up' });
    const late = await short.client.workflow.getHandle(`send:late-${contact}`).result();
    expect(late).toMatchObject({ status: 'refused', code: 'STATE_UNAVAILABLE' });
    const again = await short.consent.sendMessage({ to: contact, from: business, body: 'Yes, until 6pm.', type: 'conversational', idempotencyKey: `late-${contact}` });
    expect(again).toMatchObject({ status: 'refused', code: 'STATE_UNAVAILABLE' });
    expect((await outboundFor(short.pool, contact)).map((m) => [m.kind, m.status, m.provider_message_id])).toEqual([['message', 'refused', null]]);
    const { rows } = await short.pool.query('SELECT count(*)::int AS n FROM sandbox_messages WHERE to_number = $1', [contact]);
    expect(rows[0].n).toBe(0);
  } finally {
    await short.stop();
  }
});

it('with no worker running, an operator opt-out is accepted as a durable signal (status accepted, which POST /v1/opt-outs answers 202), and is in force once a worker starts', async () => {
  const short = await startHarness({ worker: false });
  try {
    const consent = new ConsentClient({ client: short.client, taskQueue: short.taskQueue, pool: short.pool, optOutTimeoutMs: 2000 });
    const contact = uniquePhone();
    const recorded = await consent.addOptOut({ phone: contact, recordedBy: 'ops@acme.example', reference: 'call-77' });
    // Never dropped, never claimed in force: no actor could answer within its 2 s.
    expect(recorded).toMatchObject({ contact, status: 'accepted', outcome: null, listed: null });
    await short.startWorker();
    const state = await waitFor(() => short.consent.getContactState(contact), (s) => s.optedOut && s.pendingLedger.length === 0, { what: 'the queued opt-out in force' });
    expect(state.optOut).toMatchObject({ source: 'operator-recorded', reference: 'call-77' });
    expect(state.counts.optOuts).toBe(1);
    const listed = await short.pool.query('SELECT source FROM opt_outs WHERE phone = $1', [contact]);
    expect(listed.rows).toEqual([{ source: 'operator-recorded' }]);
  } finally {
    await short.stop();
  }
});
