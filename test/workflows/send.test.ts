import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsentClient } from '../../client/consent-client';
import { COMPLIANT_FIRST, WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
import { inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness?.stop();
});

const webForm = WEB_FORM_EVIDENCE;

async function consentTo(consent: ConsentClient, phone: string, type: 'express' | 'express_written', messageTypes: ('transactional' | 'promotional' | 'conversational')[], program: string | null = null) {
  await consent.recordConsent({ phone, type, source: webForm, messageTypes, program });
}

async function sentTo(contact: string): Promise<number> {
  const { rows } = await harness.pool.query(`SELECT count(*)::int AS n FROM sandbox_messages s JOIN outbound_messages o USING (idempotency_key) WHERE s.to_number = $1 AND o.kind = 'message'`, [contact]);
  return rows[0].n;
}

describe('opt-out blocks sends', () => {
  it('STOP from business number A blocks a send from business number B', async () => {
    const contact = uniquePhone();
    const [numberA, numberB] = [uniquePhone(), uniquePhone()];
    await consentTo(harness.consent, contact, 'express_written', ['transactional', 'promotional']);
    await harness.consent.handleInbound(inboundText(contact, numberA, 'STOP'));
    const answer = await harness.consent.sendMessage({ to: contact, from: numberB, body: COMPLIANT_FIRST, type: 'transactional' });
    expect(answer).toMatchObject({ status: 'refused', code: 'OPTED_OUT' });
    expect(await sentTo(contact)).toBe(0);
  });

  it('a send whose check runs after the STOP was accepted is refused: 100 STOP-then-send pairs, no wait, zero sent', async () => {
    const contacts = Array.from({ length: 100 }, () => uniquePhone());
    const business = uniquePhone();
    await Promise.all(contacts.map((contact) => consentTo(harness.consent, contact, 'express_written', ['transactional', 'promotional'])));
    const answers: string[] = [];
    for (let batch = 0; batch < contacts.length; batch += 10) {
      const results = await Promise.all(
        contacts.slice(batch, batch + 10).map(async (contact) => {
          await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
          return harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'promotional' });
        }),
      );
      answers.push(...results.map((r) => (r.status === 'refused' ? r.code : r.status)));
    }
    expect(answers).toEqual(contacts.map(() => 'OPTED_OUT'));
    const { rows } = await harness.pool.query(`SELECT count(*)::int AS n FROM sandbox_messages WHERE to_number = ANY($1) AND body = $2`, [contacts, COMPLIANT_FIRST]);
    expect(rows[0].n).toBe(0);
  });

  it('a consent recorded for an opted-out contact is kept but does not lift the opt-out; START brings it into force', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
    await consentTo(harness.consent, contact, 'express', ['transactional']);
    const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.consents.length === 1);
    expect(state.optedOut).toBe(true);
    expect(await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional' })).toMatchObject({ code: 'OPTED_OUT' });
    await harness.consent.handleInbound(inboundText(contact, business, 'START'));
    expect(await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional' })).toMatchObject({ status: 'sent' });
  });
});

describe('consent per message type (§5)', () => {
  it('a promotional message with only express consent is refused with NO_CONSENT, naming what it needs', async () => {
    const contact = uniquePhone();
    await consentTo(harness.consent, contact, 'express', ['transactional', 'promotional']);
    const answer = await harness.consent.sendMessage({ to: contact, from: uniquePhone(), body: COMPLIANT_FIRST, type: 'promotional' });
    expect(answer).toMatchObject({ status: 'refused', code: 'NO_CONSENT' });
    expect(answer.status === 'refused' && answer.reason).toContain('express_written');
    expect(await sentTo(contact)).toBe(0);
    const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.sendRefusals.length === 1, { what: 'refusal recorded on the contact' });
    expect(state.sendRefusals[0]).toMatchObject({ code: 'NO_CONSENT', type: 'promotional' });
  });

  it('a transactional message with express consent is sent', async () => {
    const contact = uniquePhone();
    await consentTo(harness.consent, contact, 'express', ['transactional']);
    const answer = await harness.consent.sendMessage({ to: contact, from: uniquePhone(), body: COMPLIANT_FIRST, type: 'transactional' });
    expect(answer).toMatchObject({ status: 'sent' });
    expect(await sentTo(contact)).toBe(1);
  });

  it('a conversational reply after the contact texted first is sent; one from another business number is refused', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await harness.consent.handleInbound(inboundText(contact, business, 'Can I move my appointment?'));
    expect(await harness.consent.sendMessage({ to: contact, from: business, body: 'Sure, Thursday works.', type: 'conversational' })).toMatchObject({ status: 'sent' });
    expect(await harness.consent.sendMessage({ to: contact, from: uniquePhone(), body: 'Hello from us too', type: 'conversational' })).toMatchObject({
      status: 'refused',
      code: 'NO_CONSENT',
    });
    expect(await sentTo(contact)).toBe(1);
  });
});

describe('first message disclosures (§6)', () => {
  const parts: [string, string][] = [
    ['business_name', COMPLIANT_FIRST.replace('Acme Dental: ', '')],
    ['program_description', COMPLIANT_FIRST.replace('account notifications. ', '')],
    ['opt_out_instructions', COMPLIANT_FIRST.replace(' Reply STOP to unsubscribe.', '')],
    ['message_frequency', COMPLIANT_FIRST.replace(' Msg frequency varies.', '')],
    ['rates_notice', COMPLIANT_FIRST.replace(' Msg & data rates may apply.', '')],
  ];
  it.each(parts)('a first message missing %s is refused naming it', async (missing, body) => {
    const contact = uniquePhone();
    await consentTo(harness.consent, contact, 'express', ['transactional']);
    const answer = await harness.consent.sendMessage({ to: contact, from: uniquePhone(), body, type: 'transactional' });
    expect(answer).toMatchObject({ status: 'refused', code: 'MISSING_DISCLOSURES', missing: [missing] });
    expect(await sentTo(contact)).toBe(0);
  });

  it('appendDisclosures completes the first message with a compliant footer; the second message needs none', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await consentTo(harness.consent, contact, 'express', ['transactional']);
    const first = await harness.consent.sendMessage({ to: contact, from: business, body: 'Your cleaning is on Tue 10am.', type: 'transactional', appendDisclosures: true });
    expect(first).toMatchObject({ status: 'sent' });
    expect(first.status === 'sent' && first.body).toMatch(/^Your cleaning is on Tue 10am\. Acme Dental.*Reply STOP/);
    await waitFor(() => harness.consent.getContactState(contact), (s) => s.sentMessages.length === 1);
    expect(await harness.consent.sendMessage({ to: contact, from: business, body: 'Reminder: tomorrow 10am.', type: 'transactional' })).toMatchObject({ status: 'sent' });
  });
});

describe('programs and frequency', () => {
  it('the engine refuses the message that would exceed the program\'s declared frequency', async () => {
    const program = `tips-${Date.now()}`;
    await harness.consent.upsertProgram({ id: program, businessName: 'Acme Dental', description: 'dental tips', frequency: 'up to 2 msgs/month' });
    const contact = uniquePhone();
    const business = uniquePhone();
    await consentTo(harness.consent, contact, 'express_written', ['promotional'], program);
    const body = 'Acme Dental dental tips: floss daily! Up to 2 msgs/month. Msg & data rates may apply. Reply STOP to unsubscribe.';
    const answers = [];
    for (let i = 0; i < 3; i += 1) {
      answers.push(await harness.consent.sendMessage({ to: contact, from: business, body, type: 'promotional', program }));
      await waitFor(() => harness.consent.getContactState(contact), (s) => s.sentMessages.length + s.sendRefusals.length === i + 1);
    }
    expect(answers.map((a) => (a.status === 'refused' ? a.code : a.status))).toEqual(['sent', 'sent', 'FREQUENCY_CAP']);
    expect(await sentTo(contact)).toBe(2);
  });

  it('a consent for one program does not cover another', async () => {
    const program = `news-${Date.now()}`;
    await harness.consent.upsertProgram({ id: program, businessName: 'Acme Dental', description: 'news', frequency: 'up to 4 msgs/month' });
    const contact = uniquePhone();
    await consentTo(harness.consent, contact, 'express_written', ['promotional'], program);
    const answer = await harness.consent.sendMessage({ to: contact, from: uniquePhone(), body: COMPLIANT_FIRST, type: 'promotional' });
    expect(answer).toMatchObject({ code: 'NO_CONSENT' });
  });
});

describe('idempotency', () => {
  it('the same idempotency key twice sends once and answers the same', async () => {
    const contact = uniquePhone();
    await consentTo(harness.consent, contact, 'express', ['transactional']);
    const request = { to: contact, from: uniquePhone(), body: COMPLIANT_FIRST, type: 'transactional' as const, idempotencyKey: `order-${contact}` };
    const [first, second] = [await harness.consent.sendMessage(request), await harness.consent.sendMessage(request)];
    expect(first).toMatchObject({ status: 'sent' });
    expect(second).toEqual(first);
    expect(await sentTo(contact)).toBe(1);
  });
});
