import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contactWorkflowId } from '../../client/consent-client';
import { buildTestApi, startHarness, uniquePhone, type Harness } from '../support/harness';

const OLD_KEY = `old-key-${randomUUID()}`;
const NEW_KEY = `new-key-${randomUUID()}`;
const TWILIO_AUTH_TOKEN = `twilio-test-token-${randomUUID()}`;

let harness: Harness;
/** mid-rotation: both keys valid */
let rotating: FastifyInstance;
/** after the rotation: the old key removed */
let rotated: FastifyInstance;
beforeAll(async () => {
  // No worker: every route used here answers from Postgres or an absent actor, and auth runs before any of it.
  harness = await startHarness({ worker: false });
  rotating = await buildTestApi(harness, harness.taskQueue, { apiKeys: [OLD_KEY, NEW_KEY] });
  rotated = await buildTestApi(harness, harness.taskQueue, { apiKeys: [NEW_KEY], webhooks: { twilioAuthToken: TWILIO_AUTH_TOKEN } });
});
afterAll(async () => {
  await rotating?.close();
  await rotated?.close();
  await harness?.stop();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('API keys on /v1', () => {
  it.each([
    ['no Authorization header', {}],
    ['an unknown key', bearer(`guess-${randomUUID()}`)],
    ['a key sent as Basic auth', { authorization: `Basic ${Buffer.from(`${NEW_KEY}:`).toString('base64')}` }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ])('%s gets 401 unauthorized with a message', async (_case, headers) => {
    const response = await rotating.inject({ url: '/v1/programs', headers });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'unauthorized', message: expect.any(String) });
    expect(response.headers['www-authenticate']).toBe('Bearer');
  });

  it.each([
    ['GET', '/v1/opt-outs'],
    ['GET', '/v1/opt-outs?format=csv'],
    ['POST', '/v1/opt-outs'],
    ['POST', '/v1/opt-outs/import'],
    ['GET', '/v1/opt-outs/imports/some-import'],
    ['GET', '/v1/contacts/%2B14155550100/history'],
    ['DELETE', '/v1/opt-outs/%2B14155550100'],
  ] as const)('%s %s needs a key too', async (method, url) => {
    const response = await rotating.inject({ method, url, headers: { 'content-type': 'text/csv' }, payload: method === 'POST' ? '+14155550100\n' : undefined });
    expect(response.statusCode).toBe(401);
  });

  it('during a rotation both the old and the new key are accepted', async () => {
    for (const key of [OLD_KEY, NEW_KEY]) {
      const response = await rotating.inject({ url: '/v1/programs', headers: bearer(key) });
      expect(response.statusCode).toBe(200);
    }
  });

  it('a key rotated out is refused; the key that replaced it works', async () => {
    expect((await rotated.inject({ url: '/v1/programs', headers: bearer(OLD_KEY) })).statusCode).toBe(401);
    const contact = uniquePhone();
    const response = await rotated.inject({ url: `/v1/contacts/${encodeURIComponent(contact)}`, headers: bearer(NEW_KEY) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ phone: contact, optedOut: false });
  });

  it('an inbound STOP without a key is refused before anything is signalled', async () => {
    const contact = uniquePhone();
    const response = await rotated.inject({ method: 'POST', url: '/v1/inbound', headers: bearer(OLD_KEY), payload: { messageId: `SM-${contact}`, from: contact, to: uniquePhone(), body: 'STOP' } });
    expect(response.statusCode).toBe(401);
    await expect(harness.client.workflow.getHandle(contactWorkflowId(contact)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('a valid key still gets 400 for bad input: auth first, then validation', async () => {
    const response = await rotated.inject({ url: '/v1/contacts/not-a-phone', headers: bearer(NEW_KEY) });
    expect(response.statusCode).toBe(400);
  });
});

describe('outside the API keys', () => {
  it('/healthz answers without a key (the worker check fails here, but not with 401)', async () => {
    const response = await rotated.inject({ url: '/healthz' });
    expect(response.statusCode).toBe(503);
    expect(response.json().checks).toMatchObject({ temporal: 'ok', postgres: 'ok' });
  });

  it('/webhooks/* answers a provider-signed request without a key', async () => {
    const form = { MessageSid: `SM${randomUUID().replaceAll('-', '')}`, MessageStatus: 'delivered' };
    const response = await rotated.inject({
      method: 'POST',
      url: '/webhooks/twilio/status',
      headers: { host: 'sms.example.com', 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, 'http://sms.example.com/webhooks/twilio/status', form) },
      payload: new URLSearchParams(form).toString(),
    });
    expect(response.statusCode).toBe(200);
  });

  it('a server built without keys (the default) needs none', async () => {
    const open = await buildTestApi(harness);
    try {
      expect((await open.inject({ url: '/v1/programs' })).statusCode).toBe(200);
    } finally {
      await open.close();
    }
  });
});
