/**
 * consent-rules.md §1, issue 14: a revocation is never refused at the door. A contact number opened after our
 * numbering metadata, a short code as the business number, a text longer than any we send: each reaches the contact's
 * actor through POST /v1/inbound and both webhooks, the contact is opted out, listed, and confirmed on the same thread.
 * What is not a number at all is still a 400 that names the field.
 */
import { randomInt, randomUUID, type KeyObject } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contactWorkflowId } from '../../client/consent-client';
import { MAX_REQUEST_BODY_BYTES } from '../../client/http/server';
import { EMPTY_TWIML } from '../../client/http/webhooks/twilio';
import { edgeSchemas, isVerifiedNumber } from '../../client/schemas';
import { contactStateQuery } from '../../workflows/messages';
import type { ContactState } from '../../workflows/domain/contact-state';
import {
  businessNumberSchema,
  e164Schema,
  inboundMessageSchema,
  MAX_INBOUND_BODY_LENGTH,
  MAX_MESSAGE_BODY_LENGTH,
  settleInbound,
} from '../../workflows/domain/schemas';
import { OPT_OUT_CONFIRMATION_TEMPLATE } from '../../workflows/domain/settings';
import { buildTestApi, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { PUBLIC_BASE_URL, postSignedTelnyx, postSignedTwilio, telnyxKeys, telnyxReceived } from '../support/signed-webhooks';

const TWILIO_AUTH_TOKEN = `twilio-test-token-${randomUUID()}`;

let harness: Harness;
let api: FastifyInstance;
let telnyxSigningKey: KeyObject;
beforeAll(async () => {
  harness = await startHarness();
  const telnyx = telnyxKeys();
  telnyxSigningKey = telnyx.signingKey;
  api = await buildTestApi(harness, harness.taskQueue, {
    webhooks: { publicBaseUrl: PUBLIC_BASE_URL, twilioAuthToken: TWILIO_AUTH_TOKEN, telnyxPublicKey: telnyx.publicKey },
  });
});
afterAll(async () => {
  await api?.close();
  await harness?.stop();
});

/**
 * A possible US number that no metadata calls valid: area codes of the form N9X are reserved by the NANP for its
 * expansion, so 999 stands for a range opened after our copy of libphonenumber was published.
 */
function unverifiedPhone(): string {
  return `+1999${randomInt(2, 10)}${String(randomInt(0, 1_000_000)).padStart(6, '0')}`;
}

/** US short codes are 5 or 6 digits; each test uses its own, so no two share a thread by accident. */
function shortCode(digits: 5 | 6 = 5): string {
  return String(randomInt(digits === 5 ? 20_000 : 200_000, digits === 5 ? 100_000 : 1_000_000));
}

/** A revocation in other words, longer than anything the engine sends (§2: the phrase is what counts). */
function longRevocation(length: number): string {
  const opening = 'Please stop texting me. ';
  return opening + 'x'.repeat(length - opening.length);
}

const messageSid = () => `SM${randomUUID().replaceAll('-', '')}`;

async function postInbound(payload: Record<string, unknown>) {
  return api.inject({ method: 'POST', url: '/v1/inbound', payload });
}

async function postTwilio(form: Record<string, string>) {
  return postSignedTwilio(api, TWILIO_AUTH_TOKEN, form);
}

function twilioForm(from: string, to: string, body: string) {
  const sid = messageSid();
  return { ToCountry: 'US', SmsMessageSid: sid, NumMedia: '0', MessageSid: sid, AccountSid: 'ACtest', From: from, To: to, Body: body, ApiVersion: '2010-04-01' };
}

async function postTelnyx(from: string, to: string, text: string) {
  return postSignedTelnyx(api, telnyxSigningKey, telnyxReceived(from, to, text));
}

/** Straight from the actor: the API's contact routes keep requiring a valid number, so an unverified one is read here. */
async function actorState(contact: string): Promise<ContactState> {
  return harness.client.workflow.getHandle(contactWorkflowId(contact)).query(contactStateQuery);
}

async function expectNoActor(contact: string) {
  await expect(harness.client.workflow.getHandle(contactWorkflowId(contact)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

/**
 * The whole of an opt-out by text: the actor holds it (from the business number it came in on), the opt-out list
 * has its row, and the one confirmation went out from that same number through the provider.
 */
async function expectOptedOutAndConfirmed(contact: string, business: string, source: 'keyword' | 'revocation' = 'keyword') {
  const state = await waitFor(() => actorState(contact), (s) => s.optOutConfirmed && s.pendingReplies.length === 0, { what: `the opt-out of ${contact}` });
  expect(state).toMatchObject({ optedOut: true, optOut: { source, businessNumber: business } });
  const listed = await waitFor(
    async () => (await harness.pool.query<{ business_number: string | null; source: string }>('SELECT business_number, source FROM opt_outs WHERE phone = $1', [contact])).rows,
    (rows) => rows.length === 1,
    { what: `the opt-out list row of ${contact}` },
  );
  expect(listed).toEqual([{ business_number: business, source }]);
  const { rows: sent } = await harness.pool.query<{ from_number: string; body: string }>('SELECT from_number, body FROM sandbox_messages WHERE to_number = $1', [contact]);
  expect(sent).toEqual([{ from_number: business, body: OPT_OUT_CONFIRMATION_TEMPLATE }]);
  const { rows: outbox } = await harness.pool.query<{ business_number: string; status: string }>("SELECT business_number, status FROM outbound_messages WHERE contact = $1 AND kind = 'opt_out_confirmation'", [contact]);
  expect(outbox).toEqual([{ business_number: business, status: 'sent' }]);
}

describe('the shapes (pure)', () => {
  const schemas = edgeSchemas('US');

  it('a business number is an E.164 long code or a short code of 5 or 6 digits, stored as digits; a contact stays E.164', () => {
    for (const accepted of ['+14155550100', '+18005550199', '72345', '872345']) expect(businessNumberSchema.safeParse(accepted).success, accepted).toBe(true);
    for (const refused of ['1234', '1234567', '+72345', ' 72345', '72-345', 'front-desk', '']) expect(businessNumberSchema.safeParse(refused).success, refused).toBe(false);
    expect(e164Schema.safeParse('72345').success).toBe(false);
  });

  it('the edge writes a short code as its digits, however it was grouped', () => {
    for (const written of ['872345', ' 872345 ', '87 23 45', '872-345', '872\u2011345', '(872) 345', '872.345']) {
      expect(schemas.businessNumber.parse(written), written).toBe('872345');
    }
    expect(schemas.businessNumber.parse('(415) 555-0100')).toBe('+14155550100');
  });

  it('the unverified numbers of these tests are possible and not valid by the metadata', () => {
    const phone = unverifiedPhone();
    expect(isVerifiedNumber(phone)).toBe(false);
    expect(schemas.inboundContact.parse(phone)).toBe(phone);
    expect(schemas.phone.safeParse(phone).success).toBe(false);
  });

  it('every text a request can carry fits the inbound bound: none that reaches the API is cut', () => {
    expect(MAX_INBOUND_BODY_LENGTH).toBeGreaterThanOrEqual(MAX_REQUEST_BODY_BYTES);
    expect(MAX_MESSAGE_BODY_LENGTH).toBe(1600);
  });

  it('a text beyond the bound is cut, never inside a surrogate pair, and marked with its length; a shorter one is left alone', () => {
    const now = new Date('2026-11-01T10:00:00Z');
    const base = { messageId: 'SM1', from: '+14155550100', to: '72345', receivedAt: now.toISOString() };
    const long = settleInbound({ ...base, body: 'y'.repeat(MAX_INBOUND_BODY_LENGTH + 10) }, now);
    expect(long.body).toHaveLength(MAX_INBOUND_BODY_LENGTH);
    expect(long.bodyTruncatedFrom).toBe(MAX_INBOUND_BODY_LENGTH + 10);
    const split = settleInbound({ ...base, body: `${'y'.repeat(MAX_INBOUND_BODY_LENGTH - 1)}😀tail` }, now);
    expect(split.body).toBe('y'.repeat(MAX_INBOUND_BODY_LENGTH - 1));
    expect(split.originalBody).toBeUndefined();
    // The actor settles again what the edge settled: the cut text and its mark are kept as they are.
    expect(inboundMessageSchema.parse(long)).toMatchObject({ body: long.body, bodyTruncatedFrom: MAX_INBOUND_BODY_LENGTH + 10 });
    const short = settleInbound({ ...base, body: 'x'.repeat(MAX_MESSAGE_BODY_LENGTH + 1) }, now);
    expect(short.body).toHaveLength(MAX_MESSAGE_BODY_LENGTH + 1);
    expect(short).not.toHaveProperty('bodyTruncatedFrom');
  });

  it("the actor keeps the edge's flags, and a flag it cannot read is dropped, never the text", () => {
    const text = { messageId: 'SM1', from: '+19992345678', to: '72345', body: 'STOP', receivedAt: '2026-11-01T10:00:00Z' };
    expect(inboundMessageSchema.parse({ ...text, unverifiedNumber: true })).toMatchObject({ unverifiedNumber: true, to: '72345' });
    const junk = inboundMessageSchema.parse({ ...text, unverifiedNumber: 'yes', bodyTruncatedFrom: -1 });
    expect(junk).toMatchObject({ body: 'STOP' });
    expect(junk).not.toHaveProperty('unverifiedNumber', 'yes');
    expect(junk.bodyTruncatedFrom).toBeUndefined();
  });

  it('a caller cannot set the flags the edge sets', () => {
    const parsed = schemas.inboundMessage.parse({ messageId: 'SM1', from: uniquePhone(), to: uniquePhone(), body: 'STOP', unverifiedNumber: true, bodyTruncatedFrom: 99 });
    expect(parsed).not.toHaveProperty('unverifiedNumber');
    expect(parsed).not.toHaveProperty('bodyTruncatedFrom');
  });
});

describe('a contact number that is possible but not valid by today\'s metadata', () => {
  it('POST /v1/inbound: the STOP is accepted, answered unverifiedNumber: true, and the contact is opted out, listed and confirmed', async () => {
    const contact = unverifiedPhone();
    const business = uniquePhone();
    const response = await postInbound({ messageId: messageSid(), from: contact, to: business, body: 'STOP' });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ contact, unverifiedNumber: true, classification: { intent: 'opt_out' } });
    await expectOptedOutAndConfirmed(contact, business);
  });

  it('POST /v1/inbound: written nationally, it is normalised to E.164 like any other', async () => {
    const contact = unverifiedPhone();
    const national = `(${contact.slice(2, 5)}) ${contact.slice(5, 8)}-${contact.slice(8)}`;
    const response = await postInbound({ messageId: messageSid(), from: national, to: uniquePhone(), body: 'Stop' });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ contact, unverifiedNumber: true });
  });

  it('a valid number is not flagged', async () => {
    const response = await postInbound({ messageId: messageSid(), from: uniquePhone(), to: uniquePhone(), body: 'Hello', unverifiedNumber: true });
    expect(response.statusCode).toBe(202);
    expect(response.json()).not.toHaveProperty('unverifiedNumber');
  });

  it('POST /webhooks/twilio: the STOP is accepted and the contact opted out, listed and confirmed', async () => {
    const contact = unverifiedPhone();
    const business = uniquePhone();
    const response = await postTwilio(twilioForm(contact, business, 'STOP'));
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(EMPTY_TWIML);
    await expectOptedOutAndConfirmed(contact, business);
  });

  it('POST /webhooks/telnyx: the STOP is accepted and the contact opted out, listed and confirmed', async () => {
    const contact = unverifiedPhone();
    const business = uniquePhone();
    expect((await postTelnyx(contact, business, 'STOP')).statusCode).toBe(202);
    await expectOptedOutAndConfirmed(contact, business);
  });

  it('only the inbound doors are lenient: consents, sends and contact lookups still refuse it, naming the field', async () => {
    const contact = unverifiedPhone();
    const refusals = [
      await api.inject({ method: 'GET', url: `/v1/contacts/${encodeURIComponent(contact)}` }),
      await api.inject({ method: 'POST', url: '/v1/messages', payload: { to: contact, from: uniquePhone(), body: 'Hello', type: 'transactional' } }),
      await api.inject({ method: 'POST', url: '/v1/consents', payload: { phone: contact, type: 'express', messageTypes: ['transactional'], source: { kind: 'verbal', takenBy: 'ops@acme.example', callId: 'CA1' } } }),
    ];
    for (const [index, response] of refusals.entries()) {
      expect(response.statusCode, `request ${index}`).toBe(400);
      expect(response.json().issues, `request ${index}`).toEqual(expect.arrayContaining([expect.objectContaining({ field: expect.stringMatching(/^(phone|to)$/) })]));
    }
  });
});

describe('a short code as the business number', () => {
  it('POST /v1/inbound: a STOP to 72345 opts the contact out on that short code, and the confirmation goes out from it', async () => {
    const contact = uniquePhone();
    const code = shortCode(5);
    const response = await postInbound({ messageId: messageSid(), from: contact, to: code, body: 'STOP' });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ contact, classification: { intent: 'opt_out' } });
    await expectOptedOutAndConfirmed(contact, code);
    // §1: account-wide, from every business number, long codes included.
    expect(await harness.consent.canSend(contact, { from: uniquePhone(), type: 'transactional' })).toMatchObject({ allowed: false, code: 'OPTED_OUT' });
  });

  it('POST /v1/inbound: a six-digit short code written with spaces is stored as its digits', async () => {
    const contact = uniquePhone();
    const code = shortCode(6);
    const response = await postInbound({ messageId: messageSid(), from: contact, to: `${code.slice(0, 3)} ${code.slice(3)}`, body: 'unsubscribe' });
    expect(response.statusCode).toBe(202);
    await expectOptedOutAndConfirmed(contact, code);
  });

  it('POST /webhooks/twilio: To as Twilio writes a short code (digits) is the thread the confirmation goes out on', async () => {
    const contact = uniquePhone();
    const code = shortCode(5);
    const response = await postTwilio(twilioForm(contact, code, 'STOP'));
    expect(response.statusCode).toBe(200);
    await expectOptedOutAndConfirmed(contact, code);
  });

  it('POST /webhooks/telnyx: a short code recipient is the thread the confirmation goes out on', async () => {
    const contact = uniquePhone();
    const code = shortCode(6);
    expect((await postTelnyx(contact, code, 'STOP')).statusCode).toBe(202);
    await expectOptedOutAndConfirmed(contact, code);
  });

  it('an ordinary text to a short code opens the conversation on it', async () => {
    const contact = uniquePhone();
    const code = shortCode(5);
    expect((await postInbound({ messageId: messageSid(), from: contact, to: code, body: 'Is my order ready?' })).statusCode).toBe(202);
    const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.threads.length === 1, { what: 'the thread' });
    expect(state.threads).toEqual([expect.objectContaining({ businessNumber: code })]);
  });

  it('sends from a short code are not part of this change: POST /v1/messages still refuses one, naming from', async () => {
    const response = await api.inject({ method: 'POST', url: '/v1/messages', payload: { to: uniquePhone(), from: shortCode(5), body: 'Hello', type: 'conversational' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'from' })]));
  });
});

describe('a text longer than any the engine sends', () => {
  // Near the request limit: the JSON or form around it takes the rest of MAX_REQUEST_BODY_BYTES.
  const NEAR_LIMIT = 60_000;

  it(`POST /v1/inbound: a revocation of ${NEAR_LIMIT} characters is read whole and opts the contact out`, async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    const response = await postInbound({ messageId: messageSid(), from: contact, to: business, body: longRevocation(NEAR_LIMIT) });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ contact, classification: { intent: 'revocation' } });
    expect(response.json()).not.toHaveProperty('bodyTruncatedFrom');
    await expectOptedOutAndConfirmed(contact, business, 'revocation');
  });

  it('POST /webhooks/twilio: a long Body is accepted and the revocation in it opts the contact out', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    expect((await postTwilio(twilioForm(contact, business, longRevocation(NEAR_LIMIT)))).statusCode).toBe(200);
    await expectOptedOutAndConfirmed(contact, business, 'revocation');
  });

  it('POST /webhooks/telnyx: a long text is accepted and the revocation in it opts the contact out', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    expect((await postTelnyx(contact, business, longRevocation(NEAR_LIMIT))).statusCode).toBe(202);
    await expectOptedOutAndConfirmed(contact, business, 'revocation');
  });

  it('through the client library, a text beyond even the inbound bound is cut, marked, and still opts the contact out', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    const body = longRevocation(MAX_INBOUND_BODY_LENGTH + 1000);
    const accepted = await harness.consent.handleInbound({ messageId: messageSid(), from: contact, to: business, body });
    expect(accepted.message.body).toHaveLength(MAX_INBOUND_BODY_LENGTH);
    expect(accepted.message.bodyTruncatedFrom).toBe(body.length);
    expect(accepted.classification.intent).toBe('revocation');
    await expectOptedOutAndConfirmed(contact, business, 'revocation');
  });
});

describe('what is not a phone number at all is still refused, naming the field', () => {
  it.each([
    ['a contact that is letters', { from: 'front-desk' }, 'from'],
    ['a contact with too few digits', { from: '12345' }, 'from'],
    ['a business number that is letters', { to: 'front-desk' }, 'to'],
    ['a business number too short for a short code', { to: '1234' }, 'to'],
    ['a business number too long for a short code and too short for a phone', { to: '1234567' }, 'to'],
  ])('POST /v1/inbound with %s gets 400 and nothing is signalled', async (_case, override, field) => {
    const contact = uniquePhone();
    const response = await postInbound({ messageId: messageSid(), from: contact, to: uniquePhone(), body: 'STOP', ...override });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    if (!('from' in override)) await expectNoActor(contact);
  });

  it.each([
    ['From', { From: 'front-desk' }],
    ['To', { To: 'front-desk' }],
    ['To', { To: '1234' }],
  ])('POST /webhooks/twilio with a %s that is no number gets 400 naming it', async (field, override) => {
    const contact = uniquePhone();
    const response = await postTwilio({ ...twilioForm(contact, uniquePhone(), 'STOP'), ...override });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    if (field === 'To') await expectNoActor(contact);
  });

  it.each([
    ['data.payload.from.phone_number', (contact: string) => postTelnyx('front-desk', uniquePhone(), 'STOP').then((response) => ({ response, contact }))],
    ['data.payload.to.0.phone_number', (contact: string) => postTelnyx(contact, 'front-desk', 'STOP').then((response) => ({ response, contact }))],
  ])('POST /webhooks/telnyx with no number in %s gets 400 naming it', async (field, post) => {
    const { response, contact } = await post(uniquePhone());
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    await expectNoActor(contact);
  });
});
