import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTwilioProvider } from '../../activities/providers/twilio';
import { OPT_OUT_CONFIRMATION_TEMPLATE } from '../../workflows/domain/settings';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio';
import { inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

let twilio: FakeTwilio;
let harness: Harness;
beforeAll(async () => {
  twilio = await startFakeTwilio();
  harness = await startHarness({
    provider: () => createTwilioProvider({ accountSid: twilio.accountSid, authToken: twilio.authToken, baseUrl: twilio.baseUrl }),
  });
});
afterAll(async () => {
  await harness?.stop();
  await twilio?.close();
});

it('with the Twilio provider, a STOP confirmation refused twice (HTTP 500) before Twilio took it goes out once on the retry', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  twilio.failNext(2); // two 500s before Twilio takes it: each retry looks first, finds nothing, and sends
  await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
  const [row] = await waitFor(() => outboundFor(harness.pool, contact), (rows) => rows[0]?.status === 'sent', { what: 'confirmation sent' });
  const delivered = twilio.messages.filter((m) => m.to === contact);
  expect(delivered).toEqual([expect.objectContaining({ from: business, body: OPT_OUT_CONFIRMATION_TEMPLATE, idempotencyToken: row!.idempotency_key })]);
  expect(row).toMatchObject({ provider_message_id: delivered[0]!.sid, attempts: 3 });
});

it('a STOP confirmation Twilio took but whose answer was lost is found by the retry and reaches the contact exactly once', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  const lookupsBefore = twilio.lookups;
  twilio.loseNextAnswers(1, 'drop-connection'); // Twilio has the message; the activity sees a dropped connection
  await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
  const [row] = await waitFor(() => outboundFor(harness.pool, contact), (rows) => rows[0]?.status === 'sent', { what: 'confirmation recorded as sent' });
  const delivered = twilio.messages.filter((m) => m.to === contact);
  expect(delivered).toHaveLength(1);
  expect(delivered[0]).toMatchObject({ from: business, body: OPT_OUT_CONFIRMATION_TEMPLATE });
  // The second attempt found it at Twilio instead of sending it again.
  expect(row).toMatchObject({ provider_message_id: delivered[0]!.sid, attempts: 2 });
  expect(twilio.lookups).toBeGreaterThan(lookupsBefore);
  const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.pendingReplies.length === 0, { what: 'the reply to settle' });
  expect(state).toMatchObject({ optedOut: true, counts: { repliesSent: 1, repliesFailed: 0 } });
});

it('Twilio 21610 on a reply marks the contact opted out here too, with source carrier', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  twilio.optedOut.add(contact);
  await harness.consent.handleInbound(inboundText(contact, business, 'HELP'));
  const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.optedOut, { what: 'carrier opt-out' });
  expect(state.optOut).toMatchObject({ source: 'carrier', businessNumber: business, recordedBy: 'provider' });
  expect(state.counts.repliesFailed).toBe(1);
  const [row] = await outboundFor(harness.pool, contact);
  expect(row).toMatchObject({ kind: 'help', status: 'failed' });
  expect(await harness.consent.canSend(contact, { from: uniquePhone(), type: 'transactional' })).toMatchObject({ code: 'OPTED_OUT' });
});

it('a send refused by Twilio with 21610 is reported OPTED_OUT and opts the contact out here (source carrier)', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  await harness.consent.handleInbound(inboundText(contact, business, 'What time do you close?'));
  twilio.optedOut.add(contact);
  const answer = await harness.consent.sendMessage({ to: contact, from: business, body: 'We close at 6pm.', type: 'conversational' });
  expect(answer).toMatchObject({ status: 'refused', code: 'OPTED_OUT' });
  const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.optedOut, { what: 'carrier opt-out' });
  expect(state.optOut).toMatchObject({ source: 'carrier', businessNumber: business });
  expect(await harness.consent.canSend(contact, { from: uniquePhone(), type: 'conversational' })).toMatchObject({ code: 'OPTED_OUT' });
});
