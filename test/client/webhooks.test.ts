import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { getExpectedTwilioSignature, validateRequest } from 'twilio/lib/webhooks/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contactWorkflowId } from '../../client/consent-client';
import { MAX_REQUEST_BODY_BYTES } from '../../client/http/server';
import { telnyxPublicKey } from '../../client/http/webhooks/telnyx';
import { EMPTY_TWIML, twilioSignature } from '../../client/http/webhooks/twilio';
import { buildTestApi, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

const TWILIO_AUTH_TOKEN = `twilio-test-token-${randomUUID()}`;
const PUBLIC_BASE_URL = 'https://sms.example.com';

let harness: Harness;
let api: FastifyInstance;
let telnyxSigningKey: KeyObject;
beforeAll(async () => {
  harness = await startHarness();
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  telnyxSigningKey = privateKey;
  // The key as the Telnyx portal shows it: base64 of the raw 32 bytes, after the 12-byte SPKI header.
  const portalKey = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('base64');
  api = await buildTestApi(harness, harness.taskQueue, {
    webhooks: { publicBaseUrl: PUBLIC_BASE_URL, twilioAuthToken: TWILIO_AUTH_TOKEN, telnyxPublicKey: telnyxPublicKey(portalKey) },
  });
});
afterAll(async () => {
  await api?.close();
  await harness?.stop();
});

function twilioInboundForm(from: string, to: string, body: string, messageSid = `SM${randomUUID().replaceAll('-', '')}`) {
  return { ToCountry: 'US', SmsMessageSid: messageSid, NumMedia: '0', MessageSid: messageSid, AccountSid: 'ACtest', From: from, To: to, Body: body, NumSegments: '1', ApiVersion: '2010-04-01' };
}

/** Posts a form the way Twilio does; `signedFor` is the URL the signature was made for (Twilio's own helper). */
async function postTwilio(
  path: string,
  form: Record<string, string>,
  { signedFor = `${PUBLIC_BASE_URL}${path}`, token = TWILIO_AUTH_TOKEN, signature }: { signedFor?: string; token?: string; signature?: string | null } = {},
) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
  const header = signature === undefined ? getExpectedTwilioSignature(token, signedFor, form) : signature;
  if (header !== null) headers['x-twilio-signature'] = header;
  return api.inject({ method: 'POST', url: path, headers, payload: new URLSearchParams(form).toString() });
}

function telnyxHeaders(rawBody: string, { timestamp = Math.floor(Date.now() / 1000), key = telnyxSigningKey } = {}) {
  const signature = sign(null, Buffer.from(`${timestamp}|${rawBody}`), key).toString('base64');
  return { 'content-type': 'application/json', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': String(timestamp) };
}

function telnyxReceived(from: string, to: string, text: string, id = randomUUID()) {
  return JSON.stringify({
    data: {
      event_type: 'message.received',
      id: randomUUID(),
      occurred_at: new Date().toISOString(),
      payload: { id, direction: 'inbound', type: 'SMS', from: { phone_number: from, carrier: 'T-Mobile' }, to: [{ phone_number: to, status: 'webhook_delivered' }], text },
      record_type: 'event',
    },
    meta: { attempt: 1, delivered_to: `${PUBLIC_BASE_URL}/webhooks/telnyx` },
  });
}

async function postTelnyx(rawBody: string, headers: Record<string, string> = telnyxHeaders(rawBody)) {
  return api.inject({ method: 'POST', url: '/webhooks/telnyx', headers, payload: rawBody });
}

async function expectNoActor(contact: string) {
  await expect(harness.client.workflow.getHandle(contactWorkflowId(contact)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

async function outboundRow(providerMessageId: string) {
  const { rows } = await harness.pool.query<{ provider_status: string | null; error_code: string | null; status: string }>(
    'SELECT provider_status, error_code, status FROM outbound_messages WHERE provider_message_id = $1',
    [providerMessageId],
  );
  return rows[0];
}

/** A real send through the sandbox provider, after the contact texted that business number (implied consent). */
async function sentMessageId(contact: string, business: string): Promise<string> {
  expect((await postTwilio('/webhooks/twilio', twilioInboundForm(contact, business, 'Is my order ready?'))).statusCode).toBe(200);
  const answer = await harness.consent.sendMessage({ to: contact, from: business, body: 'Yes, ready for pickup.', type: 'conversational' });
  if (answer.status !== 'sent') throw new Error(`the send was not sent: ${JSON.stringify(answer)}`);
  return answer.providerMessageId;
}

describe('Twilio signatures', () => {
  it("match Twilio's own helper, repeated parameters and non-ASCII text included", () => {
    const url = `${PUBLIC_BASE_URL}/webhooks/twilio?account=main`;
    const params = new URLSearchParams([['Body', 'ARRÊT 🚫'], ['MediaUrl0', 'https://x.test/b'], ['From', '+14155550100'], ['MediaUrl0', 'https://x.test/a']]);
    const ours = twilioSignature(TWILIO_AUTH_TOKEN, url, params);
    const grouped = { Body: 'ARRÊT 🚫', MediaUrl0: ['https://x.test/b', 'https://x.test/a'], From: '+14155550100' };
    expect(ours).toBe(getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, url, grouped));
    expect(validateRequest(TWILIO_AUTH_TOKEN, ours, url, grouped)).toBe(true);
  });
});

describe('POST /webhooks/twilio', () => {
  it('a Twilio-signed STOP opts the contact out, answered with empty TwiML (the confirmation goes out through the engine)', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    const response = await postTwilio('/webhooks/twilio', twilioInboundForm(contact, business, 'STOP'));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/xml/);
    expect(response.body).toBe(EMPTY_TWIML);

    expect(await harness.consent.canSend(contact, { from: uniquePhone(), type: 'transactional' })).toMatchObject({ allowed: false, code: 'OPTED_OUT' });
    const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.optOutConfirmed, { what: 'the opt-out confirmation' });
    expect(state).toMatchObject({ optedOut: true, optOut: { source: 'keyword', businessNumber: business } });
  });

  it.each([
    ['a forged signature', { signature: 'bm90IGEgcmVhbCBzaWduYXR1cmU=' }],
    ['a signature made with another auth token', { token: 'someone-elses-auth-token' }],
    ['a signature valid for another URL, replayed here', { signedFor: 'https://sms.example.com/webhooks/twilio?tenant=other' }],
    ['a signature valid for another host, replayed here', { signedFor: 'https://attacker.example/webhooks/twilio' }],
    ['no signature at all', { signature: null }],
  ])('%s gets 403 and the contact gets no actor', async (_case, signing) => {
    const contact = uniquePhone();
    const response = await postTwilio('/webhooks/twilio', twilioInboundForm(contact, uniquePhone(), 'STOP'), signing);
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: 'invalid_signature' });
    await expectNoActor(contact);
  });

  it('a forged STOP leaves a known contact as it was', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await postTwilio('/webhooks/twilio', twilioInboundForm(contact, business, 'Hello'));
    await waitFor(() => harness.consent.getContactState(contact), (s) => s.counts.inbound === 1, { what: 'the first text' });

    const forged = twilioInboundForm(contact, business, 'STOP');
    const response = await postTwilio('/webhooks/twilio', { ...forged, Body: 'STOP' }, { signature: getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, `${PUBLIC_BASE_URL}/webhooks/twilio`, { ...forged, Body: 'Hello' }) });
    expect(response.statusCode).toBe(403);
    const state = await harness.consent.getContactState(contact);
    expect(state).toMatchObject({ optedOut: false, counts: { inbound: 1, optOuts: 0 } });
  });

  it('without PUBLIC_BASE_URL the signed URL is the one the request reached (protocol and Host)', async () => {
    const direct = await buildTestApi(harness, harness.taskQueue, { webhooks: { twilioAuthToken: TWILIO_AUTH_TOKEN } });
    try {
      const contact = uniquePhone();
      const form = twilioInboundForm(contact, uniquePhone(), 'STOP');
      const response = await direct.inject({
        method: 'POST',
        url: '/webhooks/twilio',
        headers: {
          host: 'engine.internal:8080',
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, 'http://engine.internal:8080/webhooks/twilio', form),
        },
        payload: new URLSearchParams(form).toString(),
      });
      expect(response.statusCode).toBe(200);
      expect((await harness.consent.getContactState(contact)).optedOut).toBe(true);
    } finally {
      await direct.close();
    }
  });

  it.each([
    // A From that is possible but not valid, a short-code To and a long Body are accepted (inbound-door.test.ts).
    ['a From with too few digits to be a number', { From: '12345' }, 'From'],
    ['a To that is not a number', { To: 'front-desk' }, 'To'],
    ['no MessageSid', { MessageSid: '' }, 'MessageSid'],
  ])('a signed form with %s gets 400 naming the field, and nothing is signalled', async (_case, override, field) => {
    const contact = uniquePhone();
    const response = await postTwilio('/webhooks/twilio', { ...twilioInboundForm(contact, uniquePhone(), 'STOP'), ...override });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    await expectNoActor(contact);
  });

  it('a body over 64 KiB gets 413 and nothing is signalled', async () => {
    const contact = uniquePhone();
    const response = await postTwilio('/webhooks/twilio', { ...twilioInboundForm(contact, uniquePhone(), 'STOP'), Padding: 'x'.repeat(MAX_REQUEST_BODY_BYTES) });
    expect(response.statusCode).toBe(413);
    await expectNoActor(contact);
  });

  it('a body that is not a form gets 415, nothing signalled', async () => {
    const contact = uniquePhone();
    const response = await api.inject({ method: 'POST', url: '/webhooks/twilio', headers: { 'content-type': 'text/plain' }, payload: `From=${contact}&Body=STOP` });
    expect(response.statusCode).toBe(415);
    await expectNoActor(contact);
  });

  it('is not served at all when no Twilio auth token is configured', async () => {
    const plain = await buildTestApi(harness);
    try {
      const response = await plain.inject({ method: 'POST', url: '/webhooks/twilio', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'Body=STOP' });
      expect(response.statusCode).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe('POST /webhooks/twilio/status', () => {
  it('a signed undelivered callback records the status and its error code on the message the engine sent', async () => {
    const contact = uniquePhone();
    const messageSid = await sentMessageId(contact, uniquePhone());
    const response = await postTwilio('/webhooks/twilio/status', { MessageSid: messageSid, MessageStatus: 'undelivered', ErrorCode: '30003', AccountSid: 'ACtest' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ recorded: true });
    expect(await outboundRow(messageSid)).toEqual({ provider_status: 'undelivered', error_code: '30003', status: 'sent' });
  });

  it('a late non-final status never overwrites a final one (callbacks arrive out of order)', async () => {
    const messageSid = await sentMessageId(uniquePhone(), uniquePhone());
    await postTwilio('/webhooks/twilio/status', { MessageSid: messageSid, MessageStatus: 'delivered' });
    const late = await postTwilio('/webhooks/twilio/status', { MessageSid: messageSid, MessageStatus: 'sent' });
    expect(late.json()).toEqual({ recorded: false });
    expect(await outboundRow(messageSid)).toMatchObject({ provider_status: 'delivered', error_code: null });
  });

  it('an error code on a status that is not a failure is not recorded as one', async () => {
    const messageSid = await sentMessageId(uniquePhone(), uniquePhone());
    await postTwilio('/webhooks/twilio/status', { MessageSid: messageSid, MessageStatus: 'read', ErrorCode: '0' });
    expect(await outboundRow(messageSid)).toMatchObject({ provider_status: 'read', error_code: null });
  });

  it('a forged callback gets 403 and the row is unchanged', async () => {
    const messageSid = await sentMessageId(uniquePhone(), uniquePhone());
    const before = await outboundRow(messageSid);
    const response = await postTwilio('/webhooks/twilio/status', { MessageSid: messageSid, MessageStatus: 'failed', ErrorCode: '30007' }, { signature: 'Zm9yZ2Vk' });
    expect(response.statusCode).toBe(403);
    expect(await outboundRow(messageSid)).toEqual(before);
  });

  it('a callback for a message the engine never sent is acknowledged and changes nothing', async () => {
    const response = await postTwilio('/webhooks/twilio/status', { MessageSid: `SM${randomUUID().replaceAll('-', '')}`, MessageStatus: 'delivered' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ recorded: false });
  });

  it('a signed callback without MessageStatus gets 400 naming it', async () => {
    const response = await postTwilio('/webhooks/twilio/status', { MessageSid: 'SM123' });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual([expect.objectContaining({ field: 'MessageStatus' })]);
  });
});

describe('POST /webhooks/telnyx', () => {
  it('a Telnyx-signed STOP opts the contact out', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    const response = await postTelnyx(telnyxReceived(contact, business, 'STOP'));
    expect(response.statusCode).toBe(202);
    expect(await harness.consent.canSend(contact, { from: uniquePhone(), type: 'transactional' })).toMatchObject({ allowed: false, code: 'OPTED_OUT' });
    expect(await harness.consent.getContactState(contact)).toMatchObject({ optedOut: true, optOut: { source: 'keyword', businessNumber: business } });
  });

  it.each([
    ['a signature by another key', (body: string) => telnyxHeaders(body, { key: generateKeyPairSync('ed25519').privateKey })],
    ['a signature over another body', (body: string) => telnyxHeaders(body.replace('STOP', 'HELLO'))],
    ['a timestamp older than 5 minutes', (body: string) => telnyxHeaders(body, { timestamp: Math.floor(Date.now() / 1000) - 301 })],
    ['a timestamp more than 5 minutes ahead', (body: string) => telnyxHeaders(body, { timestamp: Math.floor(Date.now() / 1000) + 301 })],
    ['a signature moved to another timestamp', (body: string) => ({ ...telnyxHeaders(body), 'telnyx-timestamp': String(Math.floor(Date.now() / 1000) - 1) })],
    ['a signature that is not base64 of 64 bytes', (body: string) => ({ ...telnyxHeaders(body), 'telnyx-signature-ed25519': 'AAAA' })],
    ['no signature headers', () => ({ 'content-type': 'application/json' })],
  ])('%s gets 403 and the contact gets no actor', async (_case, headersFor) => {
    const contact = uniquePhone();
    const body = telnyxReceived(contact, uniquePhone(), 'STOP');
    const response = await postTelnyx(body, headersFor(body));
    expect(response.statusCode).toBe(403);
    await expectNoActor(contact);
  });

  it('a forged STOP leaves a known contact as it was', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    expect((await postTelnyx(telnyxReceived(contact, business, 'Hello'))).statusCode).toBe(202);
    await waitFor(() => harness.consent.getContactState(contact), (s) => s.counts.inbound === 1, { what: 'the first text' });
    const stop = telnyxReceived(contact, business, 'STOP');
    const response = await postTelnyx(stop, telnyxHeaders(stop, { timestamp: Math.floor(Date.now() / 1000) - 600 }));
    expect(response.statusCode).toBe(403);
    expect(await harness.consent.getContactState(contact)).toMatchObject({ optedOut: false, counts: { inbound: 1, optOuts: 0 } });
  });

  it('message.finalized records the delivery status and, for a failure, its error code', async () => {
    const messageId = await sentMessageId(uniquePhone(), uniquePhone());
    const body = JSON.stringify({
      data: {
        event_type: 'message.finalized',
        payload: { id: messageId, direction: 'outbound', to: [{ phone_number: '+14155550100', status: 'delivery_failed' }], errors: [{ code: '40008', title: 'Undeliverable' }] },
      },
    });
    const response = await postTelnyx(body);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ recorded: true });
    expect(await outboundRow(messageId)).toMatchObject({ provider_status: 'delivery_failed', error_code: '40008' });
  });

  it('an event type the engine does not use is acknowledged and ignored', async () => {
    const response = await postTelnyx(JSON.stringify({ data: { event_type: 'number_order.complete', payload: {} } }));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ ignored: 'number_order.complete' });
  });

  it('signed malformed JSON gets 400, nothing signalled', async () => {
    const contact = uniquePhone();
    const body = telnyxReceived(contact, uniquePhone(), 'STOP').slice(0, -10);
    const response = await postTelnyx(body);
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual([{ field: '(body)', message: 'is not valid JSON' }]);
    await expectNoActor(contact);
  });

  it.each([
    ['an invalid sender', (c: string) => telnyxReceived('12345', c, 'STOP'), 'data.payload.from.phone_number'],
    ['no recipient', (c: string) => telnyxReceived(c, uniquePhone(), 'STOP').replace(/"to":\[[^\]]*\]/, '"to":[]'), 'data.payload.to'],
    ['no event type', () => JSON.stringify({ data: { payload: {} } }), 'data.event_type'],
  ])('a signed event with %s gets 400 naming the field', async (_case, bodyFor, field) => {
    const contact = uniquePhone();
    const response = await postTelnyx(bodyFor(contact));
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    await expectNoActor(contact);
  });

  it('a body over 64 KiB gets 413 and nothing is signalled', async () => {
    const contact = uniquePhone();
    const body = telnyxReceived(contact, uniquePhone(), 'STOP').replace('"record_type"', `"padding":"${'x'.repeat(MAX_REQUEST_BODY_BYTES)}","record_type"`);
    const response = await postTelnyx(body);
    expect(response.statusCode).toBe(413);
    await expectNoActor(contact);
  });
});
