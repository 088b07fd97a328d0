import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contactWorkflowId } from '../../client/consent-client';
import { MAX_REQUEST_BODY_BYTES } from '../../client/http/server';
import { OPT_OUT_CONFIRMATION_TEMPLATE } from '../../workflows/domain/settings';
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

/** +14155550123 → (415) 555-0123: the way a US webhook or form might send it. */
function national(e164: string): string {
  return `(${e164.slice(2, 5)}) ${e164.slice(5, 8)}-${e164.slice(8)}`;
}

async function postInbound(payload: unknown) {
  return api.inject({ method: 'POST', url: '/v1/inbound', payload: payload as object });
}

async function expectNoActor(contact: string) {
  await expect(harness.client.workflow.getHandle(contactWorkflowId(contact)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

describe('POST /v1/inbound', () => {
  it('a STOP it accepts makes the very next canSend refuse, from any business number (20 contacts, no waiting)', async () => {
    for (let i = 0; i < 20; i += 1) {
      const contact = uniquePhone();
      const response = await postInbound({ messageId: `SM-http-stop-${contact}`, from: national(contact), to: uniquePhone(), body: 'Stop' });
      expect(response.statusCode).toBe(202);
      expect(response.json()).toMatchObject({ contact, classification: { intent: 'opt_out', matched: 'STOP' } });
      const decision = await harness.consent.canSend(contact, { from: uniquePhone(), type: 'transactional' });
      expect(decision).toMatchObject({ allowed: false, code: 'OPTED_OUT' });
    }
  });

  it.each([
    // A number that is possible but not valid, a short code and a long body are accepted (inbound-door.test.ts).
    ['a contact number with too few digits to be one', { from: '12345' }, 'from'],
    ['a business number that is not a number', { to: 'front-desk' }, 'to'],
    ['a missing message id', { messageId: undefined }, 'messageId'],
    ['a body that is not text', { body: 42 }, 'body'],
    ['a timestamp that is not ISO 8601', { receivedAt: 'yesterday' }, 'receivedAt'],
  ])('%s gets 400 naming the field, and nothing is signalled', async (_case, override, field) => {
    const contact = uniquePhone();
    const response = await postInbound({ messageId: `SM-bad-${contact}`, from: contact, to: uniquePhone(), body: 'STOP', ...override });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    await expectNoActor(contact);
  });

  it('a request body over the limit gets 413 and nothing is signalled', async () => {
    const contact = uniquePhone();
    const response = await postInbound({ messageId: 'SM-huge', from: contact, to: uniquePhone(), body: 'STOP', padding: 'x'.repeat(MAX_REQUEST_BODY_BYTES) });
    expect(response.statusCode).toBe(413);
    await expectNoActor(contact);
  });

  it('malformed JSON gets 400', async () => {
    const response = await api.inject({ method: 'POST', url: '/v1/inbound', payload: '{"from": ', headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(400);
  });
});

describe('GET /v1/contacts/:phone', () => {
  it('an unknown contact is a contact with no consent, not an error', async () => {
    const contact = uniquePhone();
    const response = await api.inject({ url: `/v1/contacts/${encodeURIComponent(contact)}` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ phone: contact, optedOut: false, consents: [], threads: [] });
  });

  it('a bad number gets 400 naming the phone parameter', async () => {
    const response = await api.inject({ url: '/v1/contacts/not-a-phone' });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues[0]).toMatchObject({ field: 'phone' });
  });

  it('shows the opt-out, the can-send decision and the messages the engine sent, newest first', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await postInbound({ messageId: `SM-help-${contact}`, from: contact, to: business, body: 'HELP' });
    // Answered before the STOP: a HELP answer whose turn comes after a STOP is withheld (opt-out-hardening.test.ts).
    await waitFor(
      async () => (await api.inject({ url: `/v1/contacts/${encodeURIComponent(contact)}/messages` })).json().messages as { status: string }[],
      (rows) => rows.length === 1 && rows[0]!.status === 'sent',
      { what: 'the HELP answer' },
    );
    await postInbound({ messageId: `SM-stop-${contact}`, from: contact, to: business, body: 'STOP' });
    const messages = await waitFor(
      async () => (await api.inject({ url: `/v1/contacts/${encodeURIComponent(contact)}/messages` })).json().messages as { kind: string; body: string; status: string }[],
      (rows) => rows.length === 2 && rows.every((row) => row.status === 'sent'),
      { what: 'two replies' },
    );
    expect(messages.map((m) => m.kind)).toEqual(['opt_out_confirmation', 'help']);
    expect(messages[0]!.body).toBe(OPT_OUT_CONFIRMATION_TEMPLATE);

    const state = (await api.inject({ url: `/v1/contacts/${encodeURIComponent(contact)}` })).json();
    expect(state).toMatchObject({ optedOut: true, optOut: { source: 'keyword', businessNumber: business } });
    const decision = await api.inject({ url: `/v1/contacts/${encodeURIComponent(contact)}/can-send?from=${encodeURIComponent(business)}&type=conversational` });
    expect(decision.json()).toMatchObject({ allowed: false, code: 'OPTED_OUT' });
  });
});

describe('GET /healthz', () => {
  it('is 200 while Temporal, Postgres and a worker are up', async () => {
    const response = await api.inject({ url: '/healthz' });
    expect(response.json()).toMatchObject({ ok: true, checks: { temporal: 'ok', postgres: 'ok' } });
    expect(response.statusCode).toBe(200);
  });

  it('is 503 naming the worker when no worker polls the task queue', async () => {
    const lonely = await buildTestApi(harness, 'nobody-polls-this-queue');
    const response = await lonely.inject({ url: '/healthz' });
    expect(response.statusCode).toBe(503);
    expect(response.json().checks).toMatchObject({ temporal: 'ok', postgres: 'ok', worker: 'no worker is polling the task queue' });
    await lonely.close();
  });
});
