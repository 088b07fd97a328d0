import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contactWorkflowId } from '../../client/consent-client';
import { inboundMessageSignal } from '../../workflows/messages';
import { DEFAULT_OPT_OUT_KEYWORDS } from '../../workflows/domain/keywords';
import { OPT_OUT_CONFIRMATION_TEMPLATE, renderReply } from '../../workflows/domain/settings';
import { MESSAGE_TYPES } from '../../workflows/domain/schemas';
import { TEST_PROFILE, inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness?.stop();
});

const RESUBSCRIBED = renderReply('resubscribe_confirmation', TEST_PROFILE);
const HELP = renderReply('help', TEST_PROFILE);

/** Waits until the actor has processed `count` inbound texts and sent every reply it decided. */
async function settled(contact: string, inbound: number) {
  return waitFor(
    () => harness.consent.getContactState(contact),
    (state) => state.counts.inbound + state.counts.duplicates + state.counts.rejectedSignals >= inbound && state.pendingReplies.length === 0,
    { what: `${contact} to settle after ${inbound} inbound texts` },
  );
}

async function text(contact: string, business: string, body: string, messageId?: string) {
  await harness.consent.handleInbound(inboundText(contact, business, body, messageId));
}

describe('opt-out', () => {
  it.each(DEFAULT_OPT_OUT_KEYWORDS.map((keyword) => [keyword]))(
    '%s opts the contact out and sends exactly one confirmation on the same thread',
    async (keyword) => {
      const contact = uniquePhone();
      const business = uniquePhone();
      await text(contact, business, ` ${keyword.toLowerCase()}! `);
      const state = await settled(contact, 1);
      expect(state.optedOut).toBe(true);
      expect(state.optOut).toMatchObject({ source: 'keyword', businessNumber: business, text: ` ${keyword.toLowerCase()}! ` });
      const sent = await outboundFor(harness.pool, contact);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ kind: 'opt_out_confirmation', body: OPT_OUT_CONFIRMATION_TEMPLATE, business_number: business, status: 'sent' });
    },
  );

  it('a second STOP inside the same opt-out gets no second confirmation and keeps the first record', async () => {
    const contact = uniquePhone();
    const first = uniquePhone();
    const second = uniquePhone();
    await text(contact, first, 'STOP', 'SM-first-stop');
    await text(contact, second, 'STOP');
    const state = await settled(contact, 2);
    expect(state.optOut).toMatchObject({ businessNumber: first, messageId: 'SM-first-stop' });
    expect(await outboundFor(harness.pool, contact)).toHaveLength(1);
  });

  it('a revocation in other words ("please stop texting me") opts out with source revocation', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await text(contact, business, 'Please stop texting me, thanks');
    const state = await settled(contact, 1);
    expect(state.optOut).toMatchObject({ source: 'revocation', businessNumber: business });
    expect((await outboundFor(harness.pool, contact)).map((m) => m.kind)).toEqual(['opt_out_confirmation']);
  });

  it('STOP from one business number blocks every message type from every other business number', async () => {
    const contact = uniquePhone();
    const numberA = uniquePhone();
    const numberB = uniquePhone();
    await text(contact, numberB, 'Hi, is my order ready?');
    await settled(contact, 1);
    expect((await harness.consent.canSend(contact, { from: numberB, type: 'conversational' })).allowed).toBe(true);
    await text(contact, numberA, 'STOP');
    for (const from of [numberA, numberB, uniquePhone()]) {
      for (const type of MESSAGE_TYPES) {
        const decision = await harness.consent.canSend(contact, { from, type });
        expect(decision).toMatchObject({ allowed: false, code: 'OPTED_OUT' });
      }
    }
  });

  it('a look-alike ("We have got to STOP this bill") changes nothing and is flagged for review', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await text(contact, business, 'We have got to STOP this bill');
    const state = await settled(contact, 1);
    expect(state.optedOut).toBe(false);
    expect(state.reviewFlags).toEqual([expect.objectContaining({ body: 'We have got to STOP this bill', matched: 'STOP' })]);
    expect(await outboundFor(harness.pool, contact)).toHaveLength(0);
    const found = await waitFor(
      () => listIds(`NeedsReview = true AND ContactPhone = '${contact}'`),
      (ids) => ids.length === 1,
      { what: 'NeedsReview search attribute' },
    );
    expect(found).toEqual([contactWorkflowId(contact)]);
  });

  it('an opted-out contact is found by OptedOut = true in visibility', async () => {
    const contact = uniquePhone();
    await text(contact, uniquePhone(), 'stop');
    await settled(contact, 1);
    const found = await waitFor(
      () => listIds(`OptedOut = true AND OptOutSource = 'keyword' AND ContactPhone = '${contact}'`),
      (ids) => ids.length === 1,
      { what: 'OptedOut search attribute' },
    );
    expect(found).toEqual([contactWorkflowId(contact)]);
  });
});

describe('re-subscribe', () => {
  it.each([['START'], ['unstop'], ['Yes']])('%s lifts the opt-out, restores earlier consent and confirms', async (keyword) => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await text(contact, business, 'Can I book for Tuesday?');
    await text(contact, business, 'STOP');
    await settled(contact, 2);
    await text(contact, business, keyword);
    const state = await settled(contact, 3);
    expect(state.optedOut).toBe(false);
    expect(state.pastOptOuts).toHaveLength(1);
    expect(await harness.consent.canSend(contact, { from: business, type: 'conversational' })).toMatchObject({ allowed: true });
    const sent = await outboundFor(harness.pool, contact);
    expect(sent.map((m) => [m.kind, m.body])).toEqual([
      ['opt_out_confirmation', OPT_OUT_CONFIRMATION_TEMPLATE],
      ['resubscribe_confirmation', RESUBSCRIBED],
    ]);
  });

  it('START from a contact who is not opted out changes nothing and is answered once with the same text', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await text(contact, business, 'START', 'SM-start-once');
    await text(contact, business, 'START', 'SM-start-once');
    const state = await settled(contact, 2);
    expect(state.optedOut).toBe(false);
    expect(state.counts.resubscribes).toBe(0);
    expect((await outboundFor(harness.pool, contact)).map((m) => m.body)).toEqual([RESUBSCRIBED]);
  });

  it('YES from a contact who is not opted out is an ordinary reply: implied consent, no confirmation', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await text(contact, business, 'YES');
    const state = await settled(contact, 1);
    expect(state.threads).toEqual([expect.objectContaining({ businessNumber: business, inboundCount: 1 })]);
    expect(await outboundFor(harness.pool, contact)).toHaveLength(0);
  });
});

describe('help', () => {
  it('HELP is answered while opted out, and does not lift the opt-out', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await text(contact, business, 'STOP');
    await text(contact, business, 'help');
    const state = await settled(contact, 2);
    expect(state.optedOut).toBe(true);
    expect((await outboundFor(harness.pool, contact)).map((m) => m.body)).toEqual([OPT_OUT_CONFIRMATION_TEMPLATE, HELP]);
    expect(HELP).toContain('Acme Dental');
    expect(HELP).toContain('Msg & data rates may apply');
    expect(HELP).toContain('Reply STOP to unsubscribe');
  });
});

describe('duplicates and bad input', () => {
  it('a duplicate delivery of the same message id has no second effect and sends no second reply', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await text(contact, business, 'INFO', 'SM-dup-help');
    await text(contact, business, 'INFO', 'SM-dup-help');
    await text(contact, business, 'STOP', 'SM-dup-stop');
    await text(contact, business, 'START', 'SM-dup-start');
    await text(contact, business, 'STOP', 'SM-dup-stop');
    const state = await settled(contact, 5);
    expect(state.counts).toMatchObject({ inbound: 3, duplicates: 2, helpRequests: 1, optOuts: 1, resubscribes: 1 });
    expect(state.optedOut).toBe(false);
    expect((await outboundFor(harness.pool, contact)).map((m) => m.kind)).toEqual(['help', 'opt_out_confirmation', 'resubscribe_confirmation']);
  });

  it('a malformed signal sent past the edge is rejected by the actor and changes no state', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await text(contact, business, 'STOP');
    await settled(contact, 1);
    const handle = harness.client.workflow.getHandle(contactWorkflowId(contact));
    await handle.signal(inboundMessageSignal, { messageId: 'x', from: 'not-a-number', to: business, body: 'START', receivedAt: 'yesterday' });
    await handle.signal(inboundMessageSignal, inboundText(uniquePhone(), business, 'START'));
    const state = await waitFor(
      () => harness.consent.getContactState(contact),
      (s) => s.counts.rejectedSignals === 2,
      { what: 'two rejected signals' },
    );
    expect(state.optedOut).toBe(true);
    expect(state.counts.inbound).toBe(1);
  });
});

describe('recorded opt-outs (add-only)', () => {
  it('an imported opt-out sends no SMS and blocks sends; the contact\'s own first STOP then gets its confirmation', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await harness.consent.recordOptOut(contact, { source: 'suppression-import', recordedBy: 'import-42', reference: 'import-42' });
    const imported = await waitFor(() => harness.consent.getContactState(contact), (s) => s.optedOut, { what: 'import opt-out' });
    expect(imported.optOut).toMatchObject({ source: 'suppression-import', businessNumber: null, recordedBy: 'import-42' });
    expect(await harness.consent.canSend(contact, { from: business, type: 'transactional' })).toMatchObject({ code: 'OPTED_OUT' });
    expect(await outboundFor(harness.pool, contact)).toHaveLength(0);

    await text(contact, business, 'STOP');
    const state = await settled(contact, 1);
    expect(state.optOut?.source).toBe('suppression-import');
    expect((await outboundFor(harness.pool, contact)).map((m) => m.kind)).toEqual(['opt_out_confirmation']);
  });

  it('recording an opt-out for a contact already opted out keeps the original record', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await text(contact, business, 'STOP');
    await settled(contact, 1);
    await harness.consent.recordOptOut(contact, { source: 'operator-recorded', recordedBy: 'agent@example.com', note: 'called in' });
    const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.counts.optOuts >= 1);
    expect(state.optOut).toMatchObject({ source: 'keyword', businessNumber: business });
  });
});

describe('implied consent (consent-rules.md §2 and §5)', () => {
  it('a contact who texted a business number may get conversational replies from it, and nothing else', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await text(contact, business, 'Do you have anything on Friday?');
    await settled(contact, 1);
    expect(await harness.consent.canSend(contact, { from: business, type: 'conversational' })).toMatchObject({ allowed: true });
    expect(await harness.consent.canSend(contact, { from: uniquePhone(), type: 'conversational' })).toMatchObject({ allowed: false, code: 'NO_CONSENT' });
    expect(await harness.consent.canSend(contact, { from: business, type: 'transactional' })).toMatchObject({ allowed: false, code: 'NO_CONSENT' });
    expect(await harness.consent.canSend(contact, { from: business, type: 'promotional' })).toMatchObject({ allowed: false, code: 'NO_CONSENT' });
  });

  it('an unknown contact reads as a contact with no consent, not an error', async () => {
    const contact = uniquePhone();
    const state = await harness.consent.getContactState(contact);
    expect(state).toMatchObject({ phone: contact, optedOut: false, consents: [], threads: [] });
    expect(await harness.consent.canSend(contact, { from: uniquePhone(), type: 'conversational' })).toMatchObject({ allowed: false, code: 'NO_CONSENT' });
  });
});

async function listIds(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of harness.client.workflow.list({ query })) ids.push(execution.workflowId);
  return ids;
}
