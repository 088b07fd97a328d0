/**
 * consent-rules.md §1: an opt-out is never refused at the door, and never delayed by a failing dependency. Here the
 * API reaches the real dev server through a TCP proxy the test cuts, while the worker keeps its own connection. A STOP
 * (POST /v1/inbound, the Twilio webhook) or an operator's opt-out is answered at once, listed, and refuses every send
 * while it waits in the signal backlog (Postgres); once Temporal answers, the backlog's drain hands it to the actor,
 * in order, confirmed once on its thread. What is not an opt-out (a consent) still fails closed with a 503.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BACKLOG_RECORDED_BY, SignalBacklog } from '../../activities/postgres/signal-backlog';
import { ConsentClient } from '../../client/consent-client';
import { buildApiServer } from '../../client/http/server';
import { EMPTY_TWIML } from '../../client/http/webhooks/twilio';
import { ALWAYS_OPEN } from '../support/clock';
import { WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
import { inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { PUBLIC_BASE_URL, postSignedTwilio, twilioInboundForm } from '../support/signed-webhooks';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

const TWILIO_AUTH_TOKEN = `twilio-outage-token-${randomUUID()}`;
/** How long the API's Temporal calls may take before it keeps the signal in the backlog (SIGNAL_TIMEOUT_MS). */
const SIGNAL_TIMEOUT_MS = 1500;

let harness: Harness;
let proxy: TcpProxy;
let connection: Connection;
let consent: ConsentClient;
let api: FastifyInstance;

beforeAll(async () => {
  harness = await startHarness();
  // Only the API under test drains, through the proxy: the harness's own drain reaches Temporal directly.
  await harness.consent.stopBacklogDrain();
  proxy = await startTcpProxy(harness.temporalAddress);
  connection = await Connection.connect({ address: proxy.address });
  const client = new Client({ connection, namespace: harness.namespace });
  consent = new ConsentClient({ client, taskQueue: harness.taskQueue, pool: harness.pool, clock: ALWAYS_OPEN, signalTimeoutMs: SIGNAL_TIMEOUT_MS, optOutTimeoutMs: SIGNAL_TIMEOUT_MS });
  api = buildApiServer({
    consent,
    client,
    pool: harness.pool,
    namespace: harness.namespace,
    taskQueue: harness.taskQueue,
    webhooks: { publicBaseUrl: PUBLIC_BASE_URL, twilioAuthToken: TWILIO_AUTH_TOKEN },
  });
  await api.ready();
  consent.startBacklogDrain(200, { info: () => undefined, warn: () => undefined });
});

afterAll(async () => {
  await consent?.stopBacklogDrain();
  await api?.close();
  proxy?.restore();
  await connection?.close();
  await proxy?.close();
  await harness?.stop();
});

const backlogRows = (contact: string) =>
  harness.pool
    .query<{ signal: string; opt_out: boolean; delivered: boolean; accepted_why: string }>(
      'SELECT signal, opt_out, delivered_at IS NOT NULL AS delivered, accepted_why FROM signal_backlog WHERE contact = $1 ORDER BY id',
      [contact],
    )
    .then((result) => result.rows);
const listRow = (contact: string) =>
  harness.pool.query<{ recorded_by: string | null; ledger_key: string; source: string; opted_out_at: Date }>('SELECT recorded_by, ledger_key, source, opted_out_at FROM opt_outs WHERE phone = $1', [contact]).then((r) => r.rows[0]);

/** Runs `body` with the API cut off from Temporal (the worker is not), then restores it. */
async function whileUnreachable<T>(body: () => Promise<T>): Promise<T> {
  proxy.cut();
  try {
    return await body();
  } finally {
    proxy.restore();
  }
}

it('a STOP while Temporal is unreachable is answered at once, listed, and refuses sends; once Temporal is back its actor has it, dated at receipt and confirmed once', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  // A conversation: a conversational reply is allowed before the STOP.
  await harness.consent.handleInbound(inboundText(contact, business, 'Is my order ready?'));
  await waitFor(() => harness.consent.canSend(contact, { from: business, type: 'conversational' }), (answer) => answer.allowed, { what: 'the conversation recorded' });

  const stop = inboundText(contact, business, 'STOP');
  const { response, elapsedMs } = await whileUnreachable(async () => {
    const started = performance.now();
    const answer = await api.inject({ method: 'POST', url: '/v1/inbound', payload: stop });
    const answeredIn = performance.now() - started;

    // While it waits: on the list, and the send gate (the worker reaches Temporal) refuses the contact.
    const listed = await listRow(contact);
    expect(listed).toMatchObject({ recorded_by: BACKLOG_RECORDED_BY, source: 'keyword' });
    expect(listed!.opted_out_at.toISOString()).toBe(new Date(stop.receivedAt).toISOString());
    const send = await harness.consent.sendMessage({ to: contact, from: business, type: 'conversational', body: 'Yes, it is ready.' });
    expect(send).toMatchObject({ status: 'refused', code: 'OPTED_OUT', reason: expect.stringContaining('while Temporal was unreachable') });
    expect(await harness.consent.canSend(contact, { from: business, type: 'conversational' })).toMatchObject({ allowed: false, code: 'OPTED_OUT' });
    // The health check names what waits, and when the oldest was accepted.
    const health = await api.inject({ method: 'GET', url: '/healthz' });
    expect(health.json()).toMatchObject({ ok: false, signalBacklog: { waiting: expect.any(Number), oldest: expect.any(String) } });
    expect(health.json().signalBacklog.waiting).toBeGreaterThanOrEqual(1);
    return { response: answer, elapsedMs: answeredIn };
  });

  expect(response.statusCode).toBe(202);
  expect(response.json()).toMatchObject({ contact, classification: { intent: 'opt_out' }, queued: { optOutInForce: true, reason: expect.stringContaining('Temporal could not take the signal') } });
  // Bounded by SIGNAL_TIMEOUT_MS (a refused connection answers sooner), never by Temporal's recovery.
  expect(elapsedMs).toBeLessThan(SIGNAL_TIMEOUT_MS + 3000);

  // Temporal is back: the drain delivers it, the actor opts the contact out as of the text's receipt, and confirms once.
  const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.optedOut && s.pendingReplies.length === 0 && s.pendingLedger.length === 0, { what: 'the STOP in the actor' });
  expect(state.optOut).toMatchObject({ at: stop.receivedAt, source: 'keyword' });
  expect(await backlogRows(contact)).toEqual([expect.objectContaining({ signal: 'inboundMessage', opt_out: true, delivered: true })]);
  const confirmations = (await outboundFor(harness.pool, contact)).filter((m) => m.kind === 'opt_out_confirmation');
  expect(confirmations).toHaveLength(1);
  expect(confirmations[0]).toMatchObject({ business_number: business, status: 'sent' });
  // The actor's own ledger entry now backs the list row.
  const ledger = await harness.pool.query<{ occurred_at: Date }>(`SELECT occurred_at FROM consent_ledger WHERE contact = $1 AND event = 'opt_out'`, [contact]);
  expect(ledger.rows.map((row) => row.occurred_at.toISOString())).toEqual([new Date(stop.receivedAt).toISOString()]);
  const listed = await waitFor(() => listRow(contact), (row) => row !== undefined && !row.ledger_key.startsWith('signal-backlog:'), { what: "the actor's list row" });
  expect(listed!.recorded_by).not.toBe(BACKLOG_RECORDED_BY);
  // In force in the actor: the gate refuses it for the actor's own reason now.
  expect(await harness.consent.sendMessage({ to: contact, from: business, type: 'conversational', body: 'Still there?' })).toMatchObject({ status: 'refused', code: 'OPTED_OUT' });
});

it('texts reach the actor in the order received: a START after a waiting STOP waits behind it, even once Temporal is back', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  await consent.stopBacklogDrain();
  try {
    const stop = await whileUnreachable(() => api.inject({ method: 'POST', url: '/v1/inbound', payload: inboundText(contact, business, 'STOP') }));
    expect(stop.json()).toMatchObject({ queued: { optOutInForce: true } });
    // Temporal answers again, but the STOP has not been delivered: the START goes behind it, not ahead.
    const start = await api.inject({ method: 'POST', url: '/v1/inbound', payload: inboundText(contact, business, 'START') });
    expect(start.statusCode).toBe(202);
    expect(start.json()).toMatchObject({ classification: { intent: 'resubscribe' }, queued: { optOutInForce: false, reason: expect.stringContaining('waiting in the backlog') } });
    // Another process's drain (the rows are in Postgres, not in this API) delivers both, in order.
    const elsewhere = new ConsentClient({ client: harness.client, taskQueue: harness.taskQueue, pool: harness.pool });
    expect(await elsewhere.drainBacklog()).toMatchObject({ delivered: expect.any(Number), failed: null });
  } finally {
    consent.startBacklogDrain(200, { info: () => undefined, warn: () => undefined });
  }
  const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.counts.inbound === 2 && s.pendingReplies.length === 0 && s.pendingLedger.length === 0, { what: 'both texts in the actor' });
  expect(state.optedOut).toBe(false);
  expect(await backlogRows(contact)).toMatchObject([
    { signal: 'inboundMessage', opt_out: true, delivered: true },
    { signal: 'inboundMessage', opt_out: false, delivered: true },
  ]);
  expect(await listRow(contact)).toBeUndefined();
  const events = await harness.pool.query<{ event: string }>(`SELECT event FROM consent_ledger WHERE contact = $1 AND event IN ('opt_out', 'resubscribe') ORDER BY occurred_at, id`, [contact]);
  expect(events.rows.map((row) => row.event)).toEqual(['opt_out', 'resubscribe']);
});

it("a STOP by Twilio's webhook while Temporal is unreachable gets its 200, never a 5xx the provider would drop", async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  const response = await whileUnreachable(() => postSignedTwilio(api, TWILIO_AUTH_TOKEN, twilioInboundForm(contact, business, 'STOP')));
  expect(response.statusCode).toBe(200);
  expect(response.body).toBe(EMPTY_TWIML);
  expect(await listRow(contact)).toMatchObject({ source: 'keyword' });
  const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.optedOut && s.pendingReplies.length === 0, { what: 'the STOP in the actor' });
  expect(state.optOut).toMatchObject({ source: 'keyword', businessNumber: business });
  expect((await outboundFor(harness.pool, contact)).filter((m) => m.kind === 'opt_out_confirmation' && m.status === 'sent')).toHaveLength(1);
});

it("an operator's opt-out while Temporal is unreachable is accepted, listed and in force; a consent is refused 503 and nothing is recorded", async () => {
  const contact = uniquePhone();
  const other = uniquePhone();
  const [optOut, consentAnswer] = await whileUnreachable(async () => [
    await api.inject({ method: 'POST', url: '/v1/opt-outs', payload: { phone: contact, recordedBy: 'ops@acme.example', reference: 'call 7781' } }),
    await api.inject({
      method: 'POST',
      url: '/v1/consents',
      payload: { phone: other, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'] },
    }),
  ]);
  expect(optOut.statusCode).toBe(202);
  expect(optOut.json()).toMatchObject({ contact, status: 'accepted', queued: { optOutInForce: true } });
  expect(await listRow(contact)).toMatchObject({ source: 'operator-recorded', recorded_by: BACKLOG_RECORDED_BY });

  // Fail closed on what is not an opt-out: the caller is told to retry, and nothing waits or is written for it.
  expect(consentAnswer.statusCode).toBe(503);
  expect(consentAnswer.headers['retry-after']).toBe('5');
  expect(consentAnswer.json()).toMatchObject({ error: 'service_unavailable' });
  expect(await backlogRows(other)).toEqual([]);

  const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.optedOut && s.pendingLedger.length === 0, { what: 'the opt-out in the actor' });
  expect(state.optOut).toMatchObject({ source: 'operator-recorded', recordedBy: 'ops@acme.example', reference: 'call 7781' });
  const ledger = await harness.pool.query(`SELECT 1 FROM consent_ledger WHERE contact = $1`, [other]);
  expect(ledger.rows).toEqual([]);
});

it("a signal Temporal refuses for itself (over the payload limit) holds back only its own contact's signals; the rest are delivered", async () => {
  await consent.stopBacklogDrain();
  const poisoned = uniquePhone();
  const contact = uniquePhone();
  const business = uniquePhone();
  try {
    const backlog = new SignalBacklog(harness.pool);
    // 2.5 MB: past the server's 2 MB payload limit, which no retry changes (INVALID_ARGUMENT, not unavailable).
    await backlog.add({ contact: poisoned, taskQueue: harness.taskQueue, signal: 'inboundMessage', payload: { ...inboundText(poisoned, business, 'hello'), padding: 'x'.repeat(2_500_000) }, why: 'test' });
    await backlog.add({ contact: poisoned, taskQueue: harness.taskQueue, signal: 'inboundMessage', payload: inboundText(poisoned, business, 'STOP'), optOut: { at: new Date().toISOString(), businessNumber: business, source: 'keyword', reference: null }, why: 'test' });
    const stop = inboundText(contact, business, 'STOP');
    await backlog.add({ contact, taskQueue: harness.taskQueue, signal: 'inboundMessage', payload: stop, optOut: { at: stop.receivedAt, businessNumber: business, source: 'keyword', reference: stop.messageId }, why: 'test' });

    const round = await consent.drainBacklog();
    expect(round.delivered).toBeGreaterThanOrEqual(1);
    expect(round.failed).toMatch(/size|limit|large/i);
    expect(await backlogRows(contact)).toMatchObject([{ delivered: true }]);
    // The poisoned contact's STOP waits behind its first text, listed and refusing every send, never skipped ahead.
    expect(await backlogRows(poisoned)).toMatchObject([{ delivered: false }, { delivered: false, opt_out: true }]);
    expect(await listRow(poisoned)).toMatchObject({ recorded_by: BACKLOG_RECORDED_BY });
    expect(await harness.consent.canSend(poisoned, { from: business, type: 'transactional' })).toMatchObject({ allowed: false, code: 'OPTED_OUT' });
    const poisonedRow = () =>
      harness.pool
        .query<{ attempts: number; last_error: string; backed_off: boolean }>(
          'SELECT attempts, last_error, next_attempt_at > now() AS backed_off FROM signal_backlog WHERE contact = $1 ORDER BY id LIMIT 1',
          [poisoned],
        )
        .then((result) => result.rows[0]);
    expect(await poisonedRow()).toMatchObject({ attempts: 1, last_error: expect.stringMatching(/size|limit|large/i), backed_off: true });
    // Backed off (5 s, doubling): the next round leaves it alone instead of sending 2.5 MB again.
    expect(await consent.drainBacklog()).toEqual({ delivered: 0, failed: null });
    expect(await poisonedRow()).toMatchObject({ attempts: 1 });
    await waitFor(() => harness.consent.getContactState(contact), (s) => s.optedOut, { what: 'the deliverable STOP in its actor' });
  } finally {
    // The poisoned rows stay for this database only (each run has its own); later rounds keep holding that contact back.
    consent.startBacklogDrain(200, { info: () => undefined, warn: () => undefined });
  }
});

it('a database that hangs does not delay a STOP Temporal can take: the backlog check gives up within half a second', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  // The backlog's read of this contact never answers; everything else goes to the real pool.
  const hanging = new Proxy(harness.pool, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return (text: unknown, ...rest: unknown[]) =>
        typeof text === 'string' && text.includes('FROM signal_backlog WHERE contact') ? new Promise(() => undefined) : (target.query as (...a: unknown[]) => unknown).call(target, text, ...rest);
    },
  });
  const direct = new ConsentClient({ client: harness.client, taskQueue: harness.taskQueue, pool: hanging });
  const started = performance.now();
  const accepted = await direct.handleInbound(inboundText(contact, business, 'STOP'));
  expect(performance.now() - started).toBeLessThan(SIGNAL_TIMEOUT_MS + 2000);
  expect(accepted.queued).toBeUndefined();
  await waitFor(() => harness.consent.getContactState(contact), (s) => s.optedOut, { what: 'the STOP in the actor' });
});
