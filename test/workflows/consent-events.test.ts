import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createEventDeliveryActivities, EVENT_DELIVERY_PACING } from '../../activities/event-delivery';
import { EventSubscriptions } from '../../activities/postgres/event-subscriptions';
import { ConsentLedger } from '../../activities/postgres/ledger';
import { CampaignClient } from '../../client/campaigns';
import { loadConfig } from '../../client/config';
import { generateWebhookSecret } from '../../client/http/event-subscription-routes';
import { buildApiServer } from '../../client/http/server';
import {
  CONSENT_EVENT_TYPES,
  eventDeliveryWorkflowId,
  LEDGER_EVENT_TO_CONSENT_EVENT,
  parseConfiguredEventSubscriptions,
  type ConsentEventType,
} from '../../workflows/domain/consent-events';
import { LEDGER_EVENTS, type LedgerEntry } from '../../workflows/domain/ledger';
import { eventDeliveryWorkflow } from '../../workflows/event-delivery';
import { COMPLIANT_FIRST, WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
import { buildTestApi, distinctPhones, inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { killWorkerProcess, spawnWorkerProcess } from '../support/spawn-worker';
import { startWebhookReceiver, type ReceivedEvent, type WebhookReceiver } from '../support/webhook-receiver';

/** The events of these contacts (or campaigns) as the stream holds them, in stream order. */
async function streamEvents(harness: Harness, { contacts = [], campaignIds = [] }: { contacts?: string[]; campaignIds?: string[] }) {
  const { rows } = await harness.pool.query<{ id: string; type: ConsentEventType; contact: string | null }>(
    `SELECT 'evt_' || id AS id, event_type AS type, contact FROM consent_events
     WHERE contact = ANY($1) OR campaign_id = ANY($2) ORDER BY tx, id`,
    [contacts, campaignIds],
  );
  return rows;
}

/** Each event once, at its first arrival: what a subscriber deduplicating by id keeps. */
function firstArrivals(received: ReceivedEvent[]): ReceivedEvent[] {
  const seen = new Set<string>();
  return received.filter((event) => (seen.has(event.payload.id) ? false : (seen.add(event.payload.id), true)));
}

/** The contact's events in the order the subscriber first got them. */
const orderFor = (received: ReceivedEvent[], contact: string) =>
  firstArrivals(received)
    .filter((event) => event.payload.data.contact === contact)
    .map((event) => event.payload.id);

async function deliveryRunning(harness: Harness, subscriptionId: string): Promise<void> {
  await waitFor(
    async () => ((await harness.client.workflow.getHandle(eventDeliveryWorkflowId(subscriptionId)).describe()).raw.pendingActivities ?? []).map((a) => a.activityType?.name),
    (names) => names.includes('deliverConsentEvents'),
    { what: `the delivery of ${subscriptionId} to start reading the stream`, timeoutMs: 30_000 },
  );
}

/** Waits until the contact has `count` consent events: each step of a contact happens after the one before. */
async function eventsOf(harness: Harness, contact: string, count: number) {
  return waitFor(() => streamEvents(harness, { contacts: [contact] }), (rows) => rows.length >= count, { what: `${count} consent events of ${contact}` });
}

/**
 * One contact's life, each step in the ledger before the next: STOP, a promotional send refused, START, an ambiguous
 * text flagged for review, a consent recorded.
 */
const LIFE: ConsentEventType[] = ['contact.opted_out', 'send.refused', 'contact.resubscribed', 'review.flagged', 'consent.recorded'];
async function liveALife(harness: Harness, contact: string): Promise<void> {
  const business = uniquePhone();
  await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
  await eventsOf(harness, contact, 1);
  expect(await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'promotional' })).toMatchObject({ code: 'OPTED_OUT' });
  await eventsOf(harness, contact, 2);
  await harness.consent.handleInbound(inboundText(contact, business, 'START'));
  await eventsOf(harness, contact, 3);
  await harness.consent.handleInbound(inboundText(contact, business, 'We have got to STOP this bill'));
  await eventsOf(harness, contact, 4);
  await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional', 'transactional'] });
  await eventsOf(harness, contact, 5);
}

describe('consent events out', () => {
  let harness: Harness;
  let api: FastifyInstance;
  const receivers: WebhookReceiver[] = [];
  beforeAll(async () => {
    harness = await startHarness();
    api = await buildTestApi(harness);
  });
  afterAll(async () => {
    await api?.close();
    for (const receiver of receivers) await receiver.close();
    await harness?.stop();
  });

  const receiver = async (secrets: string[]) => {
    const started = await startWebhookReceiver({ secrets });
    receivers.push(started);
    return started;
  };
  const deliveriesOf = async (subscriptionId: string, query = '') => {
    const response = await api.inject({ url: `/v1/event-subscriptions/${subscriptionId}/deliveries${query}` });
    expect(response.statusCode).toBe(200);
    return response.json() as { deliveries: { eventId: string; attempt: number; statusCode: number | null; outcome: string; error: string | null }[]; next: string | null };
  };

  it('every ledger event the mapping names, and only those, enters the stream as its consent event; a retried append adds none; a campaign completes once', async () => {
    const contact = uniquePhone();
    const ledger = new ConsentLedger(harness.pool);
    // review_resolved by name: an event the ledger may not list yet maps all the same.
    const names = [...new Set([...LEDGER_EVENTS, 'review_resolved'])];
    const entries = names.map(
      (event, index): LedgerEntry => ({
        key: `consent-events-test:${contact}:${event}`,
        contact,
        event: event as LedgerEntry['event'],
        occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
        businessNumber: null,
        source: 'keyword',
        evidence: {},
        workflowId: null,
        runId: null,
      }),
    );
    await ledger.append(entries);
    await ledger.append(entries);
    const { rows } = await harness.pool.query<{ event: string; type: string }>(
      'SELECT l.event, e.event_type AS type FROM consent_events e JOIN consent_ledger l ON l.id = e.ledger_id WHERE l.contact = $1 ORDER BY e.tx, e.id',
      [contact],
    );
    expect(rows).toEqual(names.filter((event) => LEDGER_EVENT_TO_CONSENT_EVENT[event]).map((event) => ({ event, type: LEDGER_EVENT_TO_CONSENT_EVENT[event] })));
    expect(new Set(Object.values(LEDGER_EVENT_TO_CONSENT_EVENT))).toEqual(new Set(CONSENT_EVENT_TYPES.filter((type) => type !== 'campaign.completed')));

    const campaignId = `consent-events-${randomUUID()}`;
    await harness.pool.query(
      `INSERT INTO campaigns (id, from_numbers, message_type, body, append_disclosures, status) VALUES ($1, ARRAY['+14155550100'], 'transactional', 'Hi', false, 'running')`,
      [campaignId],
    );
    for (const status of ['completed', 'completed', 'running', 'completed']) {
      await harness.pool.query('UPDATE campaigns SET status = $2 WHERE id = $1', [campaignId, status]);
    }
    expect(await streamEvents(harness, { campaignIds: [campaignId] })).toEqual([{ id: expect.stringMatching(/^evt_\d+$/), type: 'campaign.completed', contact: null }]);
  });

  it('a bad subscription body is a 400 naming each field, and quotes no secret', async () => {
    const almostSecret = `whsec_${Buffer.from('sixteen bytes...').toString('base64')}`;
    const response = await api.inject({
      method: 'POST',
      url: '/v1/event-subscriptions',
      payload: { url: 'ftp://crm.example.com/hooks', secrets: [almostSecret, 'plain-text-secret'], events: ['contact.opted_out', 'contact.deleted'] },
    });
    expect(response.statusCode).toBe(400);
    const { issues } = response.json() as { issues: { field: string; message: string }[] };
    expect(issues.map((issue) => issue.field).sort()).toEqual(['events.1', 'secrets.0', 'secrets.1', 'url']);
    expect(issues.find((issue) => issue.field === 'secrets.0')?.message).toBe('must encode 24 to 64 bytes (it encodes 16)');
    expect(response.body).not.toContain(almostSecret.slice(6));
    expect(response.body).not.toContain('plain-text-secret');

    const empty = await api.inject({ method: 'POST', url: '/v1/event-subscriptions', payload: {} });
    expect(empty.statusCode).toBe(400);
    expect((empty.json() as { issues: { field: string }[] }).issues.map((issue) => issue.field).sort()).toEqual(['events', 'url']);
    const both = await api.inject({ method: 'POST', url: '/v1/event-subscriptions', payload: { url: 'https://crm.example.com/h', events: ['contact.opted_out'], secret: generateWebhookSecret(), secrets: [generateWebhookSecret()] } });
    expect(both.statusCode).toBe(400);
    expect(both.json()).toMatchObject({ issues: [{ field: 'secrets', message: 'give secret or secrets, not both' }] });
  });

  describe('one subscriber through an outage, another choosing only opt-outs', () => {
    const [secretInUse, secretRotatedIn, optOutSecret] = [generateWebhookSecret(), generateWebhookSecret(), generateWebhookSecret()];
    const crmId = `crm-${randomUUID()}`;
    const helpdeskId = `helpdesk-${randomUUID()}`;
    let crm: WebhookReceiver;
    let helpdesk: WebhookReceiver;
    const contacts = distinctPhones(5);
    let campaignId: string;
    /** every consent event of the test's contacts and campaign, in stream order */
    let expected: { id: string; type: ConsentEventType; contact: string | null }[] = [];
    let outageFirstEvent: string;

    it('each subscriber gets every event it chose, exactly once after deduplication, signed with each of its secrets, in order per contact, also those of a 20 s outage', async () => {
      crm = await receiver([secretInUse, secretRotatedIn]);
      helpdesk = await receiver([optOutSecret]);
      const crmEvents: ConsentEventType[] = CONSENT_EVENT_TYPES.filter((type) => type !== 'review.resolved');
      const created = await api.inject({ method: 'POST', url: '/v1/event-subscriptions', payload: { id: crmId, url: crm.url, secrets: [secretInUse, secretRotatedIn], events: crmEvents } });
      expect(created.statusCode).toBe(201);
      expect(created.json()).toMatchObject({ id: crmId, events: crmEvents, source: 'api', active: true, secrets: [{ fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) }, { fingerprint: expect.any(String) }] });
      expect(created.body).not.toContain(secretInUse.slice(6));
      const second = await api.inject({ method: 'POST', url: '/v1/event-subscriptions', payload: { id: helpdeskId, url: helpdesk.url, secret: optOutSecret, events: ['contact.opted_out'] } });
      expect(second.statusCode).toBe(201);
      await deliveryRunning(harness, crmId);
      await deliveryRunning(harness, helpdeskId);

      const [first, secondContact, third, fourth, fifth] = contacts as [string, string, string, string, string];
      await Promise.all([liveALife(harness, first), liveALife(harness, secondContact)]);
      await waitFor(async () => crm.accepted().length, () => orderFor(crm.accepted(), secondContact).length === LIFE.length, { what: 'the events before the outage to arrive' });

      // The subscriber goes down; events keep happening.
      crm.answer(503);
      helpdesk.answer(503);
      const outageStarted = Date.now();
      await Promise.all([liveALife(harness, third), liveALife(harness, fourth)]);
      outageFirstEvent = (await streamEvents(harness, { contacts: [third] }))[0]!.id;
      // A campaign completes meanwhile: a recipient who consented, and one who never did (refused NO_CONSENT).
      const campaigns = new CampaignClient({ client: harness.client, taskQueue: harness.taskQueue, pool: harness.pool });
      ({ campaignId } = await campaigns.createCampaign({ from: uniquePhone(), type: 'transactional', body: COMPLIANT_FIRST, recipients: [{ to: third }, { to: fifth }] }));
      expect((await campaigns.waitForCampaign(campaignId)).status).toBe('completed');
      await waitFor(() => streamEvents(harness, { campaignIds: [campaignId] }), (rows) => rows.length === 1, { what: 'campaign.completed in the stream' });
      // The stream is stuck on the first events to come after the subscriber went down (ours, or another test file's,
      // as they share the database), each retried with backoff.
      const failed = await waitFor(
        async () => (await deliveriesOf(crmId, '?limit=1000')).deliveries.filter((attempt) => attempt.outcome === 'failed'),
        (attempts) => Math.max(...attempts.map((attempt) => attempt.attempt)) >= 3 && Date.now() - outageStarted > 20_000,
        { what: 'three failed attempts of one event and 20 s of outage', timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(failed.every((attempt) => attempt.statusCode === 503)).toBe(true);
      const stuckOn = failed.reduce((most, attempt) => (attempt.attempt > most.attempt ? attempt : most)).eventId;
      crm.answer(200);
      helpdesk.answer(200);

      expected = await streamEvents(harness, { contacts, campaignIds: [campaignId] });
      const subscribed = expected.filter((event) => crmEvents.includes(event.type));
      const accepted = await waitFor(
        async () => crm.accepted(),
        (events) => subscribed.every((event) => events.some((received) => received.payload.id === event.id)),
        { what: 'every event to reach the CRM after the outage', timeoutMs: 120_000, intervalMs: 250 },
      );
      expect(crm.rejected).toEqual([]);
      expect(helpdesk.rejected).toEqual([]);
      // Exactly once after deduplication: nothing of these contacts beyond the stream's events, nothing missing.
      const mine = firstArrivals(accepted).filter((event) => contacts.includes(String(event.payload.data.contact)) || event.payload.data.campaignId === campaignId);
      expect(mine.map((event) => event.payload.id).sort()).toEqual(subscribed.map((event) => event.id).sort());
      for (const contact of contacts.slice(0, 4)) {
        // In order per contact: the stream's order, which is the order the contact lived it.
        expect(orderFor(accepted, contact)).toEqual(subscribed.filter((event) => event.contact === contact).map((event) => event.id));
        expect(firstArrivals(accepted).filter((event) => event.payload.data.contact === contact).map((event) => event.payload.type)).toEqual(LIFE);
      }
      expect(orderFor(accepted, fifth).map((id) => expected.find((event) => event.id === id)?.type)).toEqual(['send.refused']);
      const completed = mine.find((event) => event.payload.type === 'campaign.completed')!;
      // A campaign's completion overtakes nothing before it in the stream (its recipients' refusals among them).
      const arrival = (id: string) => mine.findIndex((event) => event.payload.id === id);
      const earlier = subscribed.slice(0, subscribed.findIndex((event) => event.id === completed.payload.id));
      expect(earlier.every((event) => arrival(event.id) < arrival(completed.payload.id))).toBe(true);
      expect(completed.payload.data).toMatchObject({ campaignId, messageType: 'transactional', counts: { total: 2, sent: 1, refused: 1, refusedByCode: { NO_CONSENT: 1 } } });
      const optOut = mine.find((event) => event.payload.type === 'contact.opted_out' && event.payload.data.contact === first)!;
      expect(optOut.payload.data).toMatchObject({ contact: first, source: 'keyword', text: 'STOP' });

      // Only what it chose: the CRM never hears review.resolved, the helpdesk only opt-outs.
      expect(crm.requests.filter((event) => event.payload.type === 'review.resolved')).toEqual([]);
      expect(new Set(helpdesk.requests.map((event) => event.payload.type))).toEqual(new Set(['contact.opted_out']));
      const optOuts = expected.filter((event) => event.type === 'contact.opted_out').map((event) => event.id);
      await waitFor(async () => helpdesk.accepted(), (events) => optOuts.every((id) => events.some((event) => event.payload.id === id)), { what: 'the helpdesk to get every opt-out' });
      expect(firstArrivals(helpdesk.accepted()).filter((event) => contacts.includes(String(event.payload.data.contact))).map((event) => event.payload.id).sort()).toEqual([...optOuts].sort());

      // The delivery log: the event the outage caught failed with 503 (retried with backoff), then succeeded.
      const log = (await deliveriesOf(crmId, `?eventId=${stuckOn}`)).deliveries.reverse();
      expect(log.length).toBeGreaterThanOrEqual(4);
      expect(log.map((attempt) => attempt.attempt)).toEqual(log.map((_, index) => index + 1));
      expect(log.slice(0, -1).every((attempt) => attempt.outcome === 'failed' && attempt.statusCode === 503 && attempt.error?.startsWith('HTTP 503'))).toBe(true);
      expect(log.at(-1)).toMatchObject({ outcome: 'succeeded', statusCode: 200, error: null });
      console.log(`outage: ${log.length - 1} failed attempts of ${stuckOn} over ${Math.round((Date.now() - outageStarted) / 1000)} s, then delivered`);

      // The list shows fingerprints, never a secret.
      const listed = await api.inject({ url: '/v1/event-subscriptions' });
      expect(listed.statusCode).toBe(200);
      for (const secret of [secretInUse, secretRotatedIn, optOutSecret]) expect(listed.body).not.toContain(secret.slice(6));
      expect((listed.json() as { subscriptions: { id: string; deliveredThrough: unknown }[] }).subscriptions.find((s) => s.id === crmId)).toMatchObject({
        deliveredThrough: { eventId: expect.stringMatching(/^evt_/) },
        lastAttempt: { outcome: 'succeeded' },
      });
    }, 300_000);

    it('a replay from an event id delivers it and everything after it again, in order; from a time too', async () => {
      const third = contacts[2]!;
      // The earliest of the test's events in the stream (the contacts lived side by side).
      const firstEvent = expected[0]!.id;
      const before = crm.requests.length;
      const replay = await api.inject({ method: 'POST', url: `/v1/event-subscriptions/${crmId}/replay`, payload: { fromEventId: firstEvent } });
      expect(replay.statusCode).toBe(202);
      expect(replay.json()).toMatchObject({ replaying: true, fromEventId: firstEvent, workflowId: eventDeliveryWorkflowId(crmId) });
      const subscribed = expected.filter((event) => event.type !== 'review.resolved');
      const again = await waitFor(
        async () => crm.accepted().filter((event) => crm.requests.indexOf(event) >= before),
        (events) => subscribed.every((event) => events.some((received) => received.payload.id === event.id)),
        { what: 'the replay to redeliver every event', timeoutMs: 150_000, intervalMs: 250 },
      );
      for (const contact of contacts.slice(0, 4)) {
        expect(orderFor(again, contact)).toEqual(subscribed.filter((event) => event.contact === contact).map((event) => event.id));
      }

      // From a time: the first event recorded at or after it, and on.
      const { rows } = await harness.pool.query<{ at: string }>("SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at FROM consent_events WHERE id = $1", [outageFirstEvent.slice(4)]);
      const fromTime = crm.requests.length;
      const byTime = await api.inject({ method: 'POST', url: `/v1/event-subscriptions/${crmId}/replay`, payload: { from: rows[0]!.at } });
      expect(byTime.statusCode).toBe(202);
      await waitFor(
        async () => crm.accepted().filter((event) => crm.requests.indexOf(event) >= fromTime),
        (events) => subscribed.filter((event) => event.contact === third).every((event) => events.some((received) => received.payload.id === event.id)),
        { what: 'the replay from a time', timeoutMs: 150_000 },
      );

      expect((await api.inject({ method: 'POST', url: `/v1/event-subscriptions/${crmId}/replay`, payload: { fromEventId: 'evt_999999999999' } })).statusCode).toBe(404);
      expect((await api.inject({ method: 'POST', url: `/v1/event-subscriptions/no-such-subscription/replay`, payload: { fromEventId: firstEvent } })).statusCode).toBe(404);
      const neither = await api.inject({ method: 'POST', url: `/v1/event-subscriptions/${crmId}/replay`, payload: {} });
      expect(neither.statusCode).toBe(400);
      expect(neither.json()).toMatchObject({ issues: [{ field: 'fromEventId' }] });
      expect(crm.rejected).toEqual([]);
    }, 360_000);

    it('rotating a secret: a POST with the same id and the new secret list signs with those from the next event on', async () => {
      const next = generateWebhookSecret();
      const rotated = await receiver([next]);
      const replaced = await api.inject({ method: 'POST', url: '/v1/event-subscriptions', payload: { id: helpdeskId, url: rotated.url, secrets: [next], events: ['contact.opted_out'] } });
      expect(replaced.statusCode).toBe(200);
      const contact = uniquePhone();
      await harness.consent.handleInbound(inboundText(contact, uniquePhone(), 'STOP'));
      const [optOut] = await eventsOf(harness, contact, 1);
      await waitFor(async () => rotated.accepted(), (events) => events.some((event) => event.payload.id === optOut!.id), { what: 'the opt-out signed with the new secret' });
      expect(rotated.rejected).toEqual([]);
    });
  });

  it('a round ends and the next goes on where it stopped; every few rounds the workflow continues as new with its position, losing and doubling nothing', async () => {
    const secret = generateWebhookSecret();
    const subscriber = await receiver([secret]);
    const id = `rounds-${randomUUID()}`;
    const subscriptions = new EventSubscriptions(harness.pool);
    await subscriptions.save({ id, url: subscriber.url, secrets: [secret], events: ['contact.opted_out', 'contact.resubscribed'] }, 'api');
    // A worker of its own, whose rounds last half a second, so a run of two rounds continues as new every second.
    const connection = await NativeConnection.connect({ address: harness.temporalAddress });
    const taskQueue = `event-rounds-${randomUUID()}`;
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: createEventDeliveryActivities({ subscriptions, pacing: { ...EVENT_DELIVERY_PACING, roundMs: 500, pollMs: 100 } }),
    });
    try {
      await worker.runUntil(async () => {
        const handle = await harness.client.workflow.start(eventDeliveryWorkflow, { workflowId: eventDeliveryWorkflowId(id), taskQueue, args: [{ subscriptionId: id, roundsPerRun: 2 }] });
        await deliveryRunning(harness, id);
        const contact = uniquePhone();
        const ledger = new ConsentLedger(harness.pool);
        for (let step = 0; step < 12; step += 1) {
          const event = step % 2 === 0 ? 'opt_out' : 'resubscribe';
          await ledger.append([
            { key: `rounds:${contact}:${step}`, contact, event, occurredAt: new Date().toISOString(), businessNumber: null, source: event === 'opt_out' ? 'keyword' : null, evidence: { text: event === 'opt_out' ? 'STOP' : 'START' }, workflowId: null, runId: null },
          ]);
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        const expectedIds = (await streamEvents(harness, { contacts: [contact] })).map((event) => event.id);
        expect(expectedIds).toHaveLength(12);
        await waitFor(async () => orderFor(subscriber.accepted(), contact), (ids) => ids.length === 12, { what: 'the twelve events', timeoutMs: 30_000 });
        expect(orderFor(subscriber.accepted(), contact)).toEqual(expectedIds);
        expect(subscriber.accepted().filter((event) => event.payload.data.contact === contact)).toHaveLength(12);
        const { runId } = await harness.client.workflow.getHandle(eventDeliveryWorkflowId(id)).describe();
        expect(runId).not.toBe(handle.firstExecutionRunId);
        await harness.client.workflow.getHandle(eventDeliveryWorkflowId(id)).terminate('test done');
      });
    } finally {
      await connection.close();
    }
  }, 120_000);

  it('configured subscriptions are saved and delivering once the API is ready, and the API cannot replace them', async () => {
    const id = `configured-${randomUUID()}`;
    const secret = generateWebhookSecret();
    const configured = await receiver([secret]);
    const env = loadConfig({ EVENT_SUBSCRIPTIONS: JSON.stringify([{ id, url: configured.url, secrets: [secret], events: ['contact.opted_out', 'contact.resubscribed'] }]) }).env;
    const app = buildApiServer({ consent: harness.consent, client: harness.client, pool: harness.pool, namespace: harness.namespace, taskQueue: harness.taskQueue, eventSubscriptions: env.EVENT_SUBSCRIPTIONS });
    await app.ready();
    try {
      await deliveryRunning(harness, id);
      const listed = (await app.inject({ url: '/v1/event-subscriptions' })).json() as { subscriptions: { id: string; source: string }[] };
      expect(listed.subscriptions.find((subscription) => subscription.id === id)).toMatchObject({ source: 'config', events: ['contact.opted_out', 'contact.resubscribed'] });
      const replaced = await app.inject({ method: 'POST', url: '/v1/event-subscriptions', payload: { id, url: 'https://elsewhere.example.com/h', events: ['contact.opted_out'] } });
      expect(replaced.statusCode).toBe(409);
      const contact = uniquePhone();
      await harness.consent.handleInbound(inboundText(contact, uniquePhone(), 'STOP'));
      const [optOut] = await eventsOf(harness, contact, 1);
      await waitFor(async () => configured.accepted(), (events) => events.some((event) => event.payload.id === optOut!.id), { what: 'the configured subscriber to hear the opt-out' });
    } finally {
      await app.close();
    }
  });

  it('EVENT_SUBSCRIPTIONS that cannot be read stops the start, naming the entry and field, never quoting a secret', () => {
    const secret = `whsec_${Buffer.from('too short').toString('base64')}`;
    expect(parseConfiguredEventSubscriptions(`[{"id":"crm","url":"https://crm.example.com/h","secrets":["${secret}"],"events":["contact.opted_out"]},{"url":"nope","events":[]}]`).problems).toEqual([
      'entry 1 secrets.0: must encode 24 to 64 bytes (it encodes 9)',
      'entry 2 url: must be an absolute http(s) URL such as https://crm.example.com/hooks/sms',
      'entry 2 events: must name at least one of contact.opted_out, contact.resubscribed, consent.recorded, review.flagged, review.resolved, send.refused, campaign.completed',
      'entry 2 id: is required',
      'entry 2 secrets: is required (a list of whsec_… secrets)',
    ]);
    const broken = parseConfiguredEventSubscriptions(`[{"id":"crm","secrets":["${secret}"`).problems.join('\n');
    expect(broken).not.toContain(secret);
    expect(() => loadConfig({ EVENT_SUBSCRIPTIONS: `[{"id":"crm","secrets":["${secret}"` })).toThrow(/EVENT_SUBSCRIPTIONS: must be JSON/);
  });
});

describe('a worker killed mid-delivery', () => {
  let harness: Harness;
  let api: FastifyInstance;
  let subscriber: WebhookReceiver;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    harness = await startHarness({ worker: false });
    api = await buildTestApi(harness);
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await api?.close();
    await subscriber?.close();
    await harness?.stop();
  });

  it('the delivery resumes on another worker from its last progress: every event once after deduplication, in order per contact, only those in flight twice', async () => {
    const secret = generateWebhookSecret();
    subscriber = await startWebhookReceiver({ secrets: [secret] });
    const worker = await spawnWorkerProcess(harness);
    children.push(worker);
    const id = `kill-${randomUUID()}`;
    const created = await api.inject({ method: 'POST', url: '/v1/event-subscriptions', payload: { id, url: subscriber.url, secrets: [secret], events: ['contact.opted_out', 'contact.resubscribed'] } });
    expect(created.statusCode).toBe(201);
    await deliveryRunning(harness, id);

    // A backlog builds while the subscriber is down: ten contacts, each STOP then START.
    subscriber.answer(503);
    const contacts = distinctPhones(10);
    await Promise.all(
      contacts.map(async (contact) => {
        const business = uniquePhone();
        await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
        await eventsOf(harness, contact, 1);
        await harness.consent.handleInbound(inboundText(contact, business, 'START'));
        await eventsOf(harness, contact, 2);
      }),
    );
    const expected = await streamEvents(harness, { contacts });
    expect(expected).toHaveLength(20);

    // Back up, slowly: each answer takes 300 ms, so deliveries are in flight when the worker dies.
    subscriber.delay(300);
    subscriber.answer(200);
    await waitFor(async () => firstArrivals(subscriber.accepted()).filter((event) => contacts.includes(String(event.payload.data.contact))).length, (n) => n >= 12, {
      what: 'some of the backlog to arrive',
      timeoutMs: 90_000,
      intervalMs: 20,
    });
    await killWorkerProcess(worker);
    const atKill = subscriber.requests.length;
    await harness.startWorker();

    const accepted = await waitFor(
      async () => subscriber.accepted(),
      (events) => expected.every((event) => events.some((received) => received.payload.id === event.id)),
      { what: 'the rest of the backlog after the restart', timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(subscriber.rejected).toEqual([]);
    const mine = firstArrivals(accepted).filter((event) => contacts.includes(String(event.payload.data.contact)));
    expect(mine.map((event) => event.payload.id).sort()).toEqual(expected.map((event) => event.id).sort());
    for (const contact of contacts) {
      expect(orderFor(accepted, contact)).toEqual(expected.filter((event) => event.contact === contact).map((event) => event.id));
    }
    // Resumed from the progress and the log written with each 2xx: only deliveries in flight at the kill (one per
    // lane at most) came twice.
    const counts = new Map<string, number>();
    for (const event of accepted) counts.set(event.payload.id, (counts.get(event.payload.id) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    console.log(`worker killed after ${atKill} requests; delivered twice: ${JSON.stringify(twice)}`);
    expect(twice.every(([, n]) => n === 2)).toBe(true);
    expect(twice.length).toBeLessThanOrEqual(EVENT_DELIVERY_PACING.concurrency);
  }, 240_000);
});
