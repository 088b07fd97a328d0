import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApi, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

let harness: Harness;
let api: FastifyInstance;
beforeAll(async () => {
  harness = await startHarness();
  api = await buildTestApi(harness);
});
afterAll(async () => {
  await api?.close();
  await harness?.stop();
});

const webForm = {
  kind: 'web_form',
  formUrl: 'https://acme.example/signup',
  consentText: 'I agree to receive marketing texts from Acme Dental',
  checkboxPrechecked: false,
  submittedAt: '2026-11-01T10:00:00Z',
  userAgent: 'Mozilla/5.0',
};

describe('POST /v1/consents', () => {
  it.each([
    ['a pre-checked box', { type: 'express_written', source: { ...webForm, checkboxPrechecked: true } }, 'PRECHECKED_BOX'],
    ['a purchased list', { type: 'express', source: { kind: 'purchased_list', listName: 'leads-2026' } }, 'PURCHASED_LIST'],
    ['scraped numbers', { type: 'express', source: { kind: 'scraped', origin: 'website footer' } }, 'SCRAPED_NUMBERS'],
    ['a number given for calling only', { type: 'express', source: { kind: 'calling_only' } }, 'CALLING_ONLY'],
    ['express written consent taken verbally', { type: 'express_written', source: { kind: 'verbal', takenBy: 'agent 7', callId: 'CA123' } }, 'WRITTEN_ACT_REQUIRED'],
    ['an unsigned paper form', { type: 'express', source: { kind: 'paper_form', documentReference: 'DOC-9', signed: false } }, 'UNSIGNED_PAPER_FORM'],
  ])('%s is refused with 422 naming the rule, and nothing is stored', async (_case, consent, rule) => {
    const phone = uniquePhone();
    const response = await api.inject({ method: 'POST', url: '/v1/consents', payload: { phone, messageTypes: ['promotional'], ...consent } });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ error: 'consent_refused', rule });
    expect((await harness.consent.getContactState(phone)).consents).toEqual([]);
  });

  it('a web form with an unchecked box the customer ticked is express written consent, stored with its evidence', async () => {
    const phone = uniquePhone();
    const response = await api.inject({
      method: 'POST',
      url: '/v1/consents',
      payload: { phone: `(${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}`, type: 'express_written', source: webForm, messageTypes: ['promotional', 'transactional'] },
    });
    expect(response.statusCode).toBe(202);
    const state = await waitFor(() => harness.consent.getContactState(phone), (s) => s.consents.length === 1, { what: 'consent stored' });
    // The actor keeps what decisions read; the evidence is in the ledger.
    expect(state.consents[0]).toEqual({
      type: 'express_written',
      source: 'web_form',
      businessNumber: null,
      messageTypes: ['promotional', 'transactional'],
      program: null,
      grantedAt: expect.any(String),
    });
    const history = await waitFor(
      () => harness.consent.getContactHistory(phone),
      (page) => page.entries.some((entry) => entry.event === 'consent_recorded'),
      { what: 'the consent in the ledger' },
    );
    expect(history.entries.find((entry) => entry.event === 'consent_recorded')?.evidence).toMatchObject({
      type: 'express_written',
      evidence: { kind: 'web_form', formUrl: webForm.formUrl, checkboxPrechecked: false },
    });
  });

  it('a malformed consent gets 400 naming the field', async () => {
    const response = await api.inject({ method: 'POST', url: '/v1/consents', payload: { phone: uniquePhone(), type: 'express', source: { kind: 'web_form' }, messageTypes: [] } });
    expect(response.statusCode).toBe(400);
    const fields = response.json().issues.map((issue: { field: string }) => issue.field);
    expect(fields).toEqual(expect.arrayContaining(['messageTypes', 'source.formUrl']));
  });
});

describe('POST /v1/messages', () => {
  it('answers 422 with the code for a refusal and 201 for a send', async () => {
    const phone = uniquePhone();
    const business = uniquePhone();
    const refused = await api.inject({ method: 'POST', url: '/v1/messages', payload: { to: phone, from: business, body: 'Sale today!', type: 'promotional' } });
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ status: 'refused', code: 'NO_CONSENT' });

    await api.inject({ method: 'POST', url: '/v1/consents', payload: { phone, type: 'express_written', source: webForm, messageTypes: ['promotional'] } });
    await waitFor(() => harness.consent.getContactState(phone), (s) => s.consents.length === 1);
    const sent = await api.inject({ method: 'POST', url: '/v1/messages', payload: { to: phone, from: business, body: 'Sale today!', type: 'promotional', appendDisclosures: true } });
    expect(sent.statusCode).toBe(201);
    expect(sent.json()).toMatchObject({ status: 'sent' });
  });

  it('an undeclared program gets 400 naming program', async () => {
    const response = await api.inject({ method: 'POST', url: '/v1/messages', payload: { to: uniquePhone(), from: uniquePhone(), body: 'x', type: 'promotional', program: 'nope' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues[0]).toMatchObject({ field: 'program' });
  });

  it('a program whose frequency cannot be read gets 400', async () => {
    const response = await api.inject({ method: 'POST', url: '/v1/programs', payload: { id: 'p1', businessName: 'Acme', description: 'tips', frequency: 'often' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues[0]).toMatchObject({ field: 'frequency' });
  });

  it('a program may declare at most 100 msgs per period, as far as each contact\'s sends are counted', async () => {
    const refused = await api.inject({ method: 'POST', url: '/v1/programs', payload: { id: 'p-many', businessName: 'Acme', description: 'tips', frequency: 'up to 101 msgs/day' } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().issues[0]).toMatchObject({ field: 'frequency', message: expect.stringContaining('at most 100') });
    const accepted = await api.inject({ method: 'POST', url: '/v1/programs', payload: { id: 'p-hundred', businessName: 'Acme', description: 'tips', frequency: 'up to 100 msgs/day' } });
    expect(accepted.statusCode).toBeLessThan(300);
  });
});
