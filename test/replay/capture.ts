/**
 * The replay corpus generator (not part of `npm test`): drives real workflows on the suite's dev server through every
 * path the code has, each path on a contact of its own, and exports every run's history to
 * `test/replay/histories/<REPLAY_VERSION>/<scenario>.<workflow>.run<N>.json` for test/replay/replay.test.ts.
 *
 *   REPLAY_VERSION=v2 npx vitest run --config vitest.capture.config.mts
 *
 * A version directory is written once, when every scenario captured, and never overwritten: committed histories
 * are what running actors already hold, so they are never edited or deleted, only added to.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createEventDeliveryActivities, EVENT_DELIVERY_PACING } from '../../activities/event-delivery';
import { EventSubscriptions } from '../../activities/postgres/event-subscriptions';
import { ProviderRejectedError, type SmsProvider } from '../../activities/providers/provider';
import { createSandboxProvider } from '../../activities/providers/sandbox';
import { CampaignClient } from '../../client/campaigns';
import { ConsentClient } from '../../client/consent-client';
import { generateWebhookSecret, startEventDelivery } from '../../client/http/event-subscription-routes';
import { contactWorkflow, type ContactWorkflowSettings } from '../../workflows/contact';
import { contactStartOptions, contactWorkflowId } from '../../workflows/contact-start';
import type { ComplianceClockSettings } from '../../workflows/domain/compliance-clock';
import type { ContactState } from '../../workflows/domain/contact-state';
import { campaignWorkflowId } from '../../workflows/domain/campaign';
import { consentEventId, eventDeliveryWorkflowId, type ConsentEventType } from '../../workflows/domain/consent-events';
import { DEFAULT_KEYWORD_SETTINGS } from '../../workflows/domain/keywords';
import { suppressionImportWorkflowId } from '../../workflows/domain/suppression-import';
import {
  inboundMessageSignal,
  messageSentSignal,
  recordConsentSignal,
  recordOptOutSignal,
  sendRefusedSignal,
} from '../../workflows/messages';
import { eventDeliveryWorkflow, replayConsentEventsUpdate } from '../../workflows/event-delivery';
import { sendMessageWorkflow, type SendMessageResult } from '../../workflows/send';
import { suppressionImportWorkflow } from '../../workflows/suppression-import';
import { ALWAYS_OPEN, windowOpeningIn } from '../support/clock';
import { COMPLIANT_FIRST, WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
import { inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { adminShutdownError, failCheckedOutQueries } from '../support/pool-faults';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { historyToJSON } from './history-json';

const EventType = temporal.api.enums.v1.EventType;
const CLOSED = new Set([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);
const WORKFLOW_TASK = new Set([
  EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
]);
/** What a workflow waits on, each with the events that end the wait: none may be open in an exported history. */
const AWAITED: [string, number[], number[]][] = [
  [
    'activity',
    [EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED],
    [
      EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
      EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
      EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
      EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    ],
  ],
  ['timer', [EventType.EVENT_TYPE_TIMER_STARTED], [EventType.EVENT_TYPE_TIMER_FIRED, EventType.EVENT_TYPE_TIMER_CANCELED]],
  [
    'external signal',
    [EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED],
    [EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED],
  ],
  ['update', [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED], [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED]],
];

const version = process.env.REPLAY_VERSION ?? '';
const corpusRoot = path.join(__dirname, 'histories');
const target = path.join(corpusRoot, version);

/** Low enough that two dozen texts make a chain of three runs. */
const CONTINUE_AS_NEW_AFTER_EVENTS = 30;

/** Numbers the provider refuses: as Twilio does with 21610 (opted out at the carrier) and 21211 (not a valid number). */
const carrierOptedOut = new Set<string>();
const providerRefuses = new Set<string>();
/** Numbers whose next message the provider takes and then loses the answer to (a reset connection). */
const answerLost = new Set<string>();
/** Numbers the provider cannot be asked about (its Messages list answers 503). */
const lookupFails = new Set<string>();
/** Numbers the provider cannot be reached for at all: every send and lookup fails like a network error (an outage). */
const providerDown = new Set<string>();
function capturingProvider(pool: Pool): SmsProvider {
  const sandbox = createSandboxProvider(pool);
  return {
    name: sandbox.name,
    async send(message) {
      if (providerDown.has(message.to)) throw new Error('provider unreachable (capture outage)');
      if (carrierOptedOut.has(message.to)) {
        throw new ProviderRejectedError('Attempt to send to unsubscribed recipient', sandbox.name, '21610', true, false);
      }
      if (providerRefuses.has(message.to)) {
        throw new ProviderRejectedError(`The 'To' number ${message.to} is not a valid phone number`, sandbox.name, '21211', false, false);
      }
      const sent = await sandbox.send(message);
      if (answerLost.has(message.to)) throw new ProviderRejectedError('connection reset after the request was sent', sandbox.name, 'network', false, true);
      return sent;
    },
    async findSent(message, since) {
      if (providerDown.has(message.to)) throw new Error('provider unreachable (capture outage)');
      if (lookupFails.has(message.to)) throw new ProviderRejectedError('the Messages list answered 503', sandbox.name, 'http-503', false, true);
      return sandbox.findSent(message, since);
    },
  };
}

/** While set, every ledger INSERT of the worker fails like a dropped connection (a retryable database outage). */
let ledgerDown = false;
function ledgerOutage(pool: Pool): Pool {
  return failCheckedOutQueries(pool, (text) => (ledgerDown && text.includes('INSERT INTO consent_ledger') ? adminShutdownError() : undefined));
}

/**
 * The compliance clock of the worker's gate and the client (since v6): every window open all day, so no scenario
 * depends on the hour it runs at; a quiet-hours scenario moves Florida's window to open seconds from now (the server
 * cannot skip time) and puts it back (inQuietHours). The gate and the client read this object, not a copy.
 */
const clock: ComplianceClockSettings = { ...ALWAYS_OPEN };
/** The client's double opt-in window: a scenario that waits for an expiry shortens it, and puts it back. */
const DOUBLE_OPT_IN_WINDOW_MS = 60_000;
const doubleOptIn = { windowMs: DOUBLE_OPT_IN_WINDOW_MS };

let harness: Harness;
let staging: string;
beforeAll(async () => {
  if (!/^v[1-9]\d*$/.test(version)) throw new Error(`set REPLAY_VERSION to the next version, e.g. REPLAY_VERSION=v2 (got "${version}")`);
  if (existsSync(target)) {
    throw new Error(`${path.relative(process.cwd(), target)} exists: committed histories are never overwritten; capture a new version instead`);
  }
  staging = await mkdtemp(path.join(os.tmpdir(), `replay-capture-${version}-`));
  harness = await startHarness({ provider: capturingProvider, wrapWorkerPool: ledgerOutage, clock, doubleOptIn });
});
afterAll(async () => {
  ledgerDown = false;
  await harness?.stop();
  if (staging) await rm(staging, { recursive: true, force: true });
});

// --- exporting -----------------------------------------------------------------------------------------------------

const scenarios: string[] = [];
const captured = new Set<string>();
const written: { file: string; workflowType: string; events: number }[] = [];

/** One `it` per scenario; the corpus is written only if every one of them captured. */
function scenario(name: string, body: () => Promise<void>, timeoutMs?: number) {
  scenarios.push(name);
  it(name, async () => {
    await body();
    captured.add(name);
  }, timeoutMs);
}

/** Every run of the chain `anyRunId` belongs to (the latest run's chain when absent), first run first. */
async function chainOf(workflowId: string, anyRunId?: string): Promise<{ runId: string; history: History }[]> {
  const someRun = await harness.client.workflow.getHandle(workflowId, anyRunId).fetchHistory();
  const started = someRun.events?.[0]?.workflowExecutionStartedEventAttributes;
  let runId: string | undefined = started?.firstExecutionRunId ?? undefined;
  if (!runId) throw new Error(`${workflowId}: the first event names no first run`);
  const runs: { runId: string; history: History }[] = [];
  while (runId) {
    const history = await harness.client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.push({ runId, history });
    runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

/**
 * Writes every run of the workflow (of each chain named by `chains`, in that order; default: the latest chain) as
 * `<scenario>.<label>.run<N>.json`. Each run must be at rest (`atRest`, default isQuiescent): nothing half-done is
 * exported. A workflow that is never idle (restsOnItsActivity) is fetched again until every run of it is at rest.
 */
async function exportWorkflow(
  scenarioName: string,
  label: string,
  workflowId: string,
  chains: (string | undefined)[] = [undefined],
  atRest: (history: History) => boolean = isQuiescent,
) {
  await waitFor(
    () => harness.client.workflow.getHandle(workflowId).fetchHistory(),
    (history) => atRest(history),
    { what: `${workflowId} to have nothing in flight` },
  );
  const fetchRuns = async () => {
    const runs = [];
    for (const chain of chains) runs.push(...(await chainOf(workflowId, chain)));
    return runs;
  };
  // The latest run may move on between the wait and its fetch: only a fetch of every run at rest is exported.
  const runs = atRest === isQuiescent ? await fetchRuns() : await waitFor(fetchRuns, (fetched) => fetched.every(({ history }) => atRest(history)), { what: `every run of ${workflowId} at rest` });
  for (const [index, { history }] of runs.entries()) {
    expect(atRest(history), `${workflowId} run ${index + 1} at rest`).toBe(true);
    const file = `${scenarioName}.${label}.run${index + 1}.json`;
    await writeFile(path.join(staging, file), historyToJSON(history));
    const workflowType = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';
    written.push({ file, workflowType, events: history.events?.length ?? 0 });
  }
  return runs;
}

/** Opt-outs an operator recorded: applyOptOut updates completed, or (before v5) signals. */
function optOutsIn(history: History): number {
  const events = history.events ?? [];
  return events.filter((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED).length + signalsIn(history);
}

function signalsIn(history: History): number {
  return (history.events ?? []).filter((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).length;
}

/** Closed, or its last workflow task completed with nothing it waits on still open (activity, timer, signal, update). */
function isQuiescent(history: History): boolean {
  const types = (history.events ?? []).map((event) => event.eventType ?? 0);
  const last = types.at(-1);
  if (last === undefined) return false;
  if (CLOSED.has(last)) return true;
  if (types.filter((type) => WORKFLOW_TASK.has(type)).at(-1) !== EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) return false;
  const count = (wanted: number[]) => types.filter((type) => wanted.includes(type)).length;
  return AWAITED.every(([, opened, closed]) => count(opened) === count(closed));
}

/**
 * At rest for a workflow that is never idle (the event-delivery workflow always has a delivery round out): quiescent
 * but for the one activity its last workflow task scheduled, which is the history's last event. Replayed, it ends
 * waiting on that activity as the live run does; nothing came in after that task (no result, no signal, no update).
 */
function restsOnItsActivity(history: History): boolean {
  if (isQuiescent(history)) return true;
  const types = (history.events ?? []).map((event) => event.eventType ?? 0);
  let lastTask = types.length - 1;
  while (lastTask >= 0 && !WORKFLOW_TASK.has(types[lastTask]!)) lastTask -= 1;
  if (types[lastTask] !== EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED || types.at(-1) !== EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) return false;
  const count = (wanted: number[]) => types.filter((type) => wanted.includes(type)).length;
  return AWAITED.every(([what, opened, closed]) => count(opened) - count(closed) === (what === 'activity' ? 1 : 0));
}

/** Polls the contact until nothing is pending (replies sent, ledger appended) and `done` holds. Never sleeps. */
async function settled(contact: string, what: string, done: (state: ContactState) => boolean = () => true, consent = harness.consent) {
  return waitFor(
    () => consent.getContactState(contact),
    (state) => state.pendingReplies.length === 0 && state.pendingLedger.length === 0 && done(state),
    { what: `${contact}: ${what}` },
  );
}

/** A client library configured otherwise than the suite's (a low continue-as-new bound, other keyword settings). */
function edgeWith(workflowSettings: ContactWorkflowSettings): ConsentClient {
  return new ConsentClient({ client: harness.client, taskQueue: harness.taskQueue, pool: harness.pool, workflowSettings });
}

/** Sends each text only once the one before it has been applied, so every history reads in order. */
async function textInOrder(contact: string, business: string, bodies: string[]) {
  for (const body of bodies) {
    const before = (await harness.consent.getContactState(contact)).counts;
    await harness.consent.handleInbound(inboundText(contact, business, body));
    await settled(contact, `"${body}" applied`, (state) => state.counts.inbound + state.counts.duplicates > before.inbound + before.duplicates);
  }
}

/** Signals the contact directly, past the client's validation (what a caller bypassing the edge could send). */
async function signalPastTheEdge(contact: string, signal: string, payload: unknown) {
  await harness.client.workflow.signalWithStart(contactWorkflow, {
    ...contactStartOptions(contact, harness.taskQueue),
    signal,
    signalArgs: [payload as never],
  });
}

// --- inbound texts ---------------------------------------------------------------------------------------------------

describe('inbound texts', () => {
  scenario('stop-keyword', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await textInOrder(contact, business, ['STOP']);
    const state = await settled(contact, 'confirmation sent', (s) => s.counts.repliesSent === 1);
    expect(state.optOut).toMatchObject({ source: 'keyword', text: 'STOP' });
    await exportWorkflow('stop-keyword', 'contact', contactWorkflowId(contact));
  });

  scenario('stop-repeated', async () => {
    // A second STOP inside the same opt-out gets no second confirmation; an ordinary text meanwhile grants nothing.
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await textInOrder(contact, business, ['STOP', 'STOP', 'see you next week']);
    const state = await settled(contact, 'one confirmation', (s) => s.counts.repliesSent === 1 && s.counts.inbound === 3);
    expect(state.threads).toEqual([]);
    await exportWorkflow('stop-repeated', 'contact', contactWorkflowId(contact));
  });

  scenario('revocation', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await textInOrder(contact, business, ['please stop texting me']);
    const state = await settled(contact, 'confirmation sent', (s) => s.counts.repliesSent === 1);
    expect(state.optOut).toMatchObject({ source: 'revocation' });
    await exportWorkflow('revocation', 'contact', contactWorkflowId(contact));
  });

  scenario('review-look-alike', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await textInOrder(contact, business, ['Stop by our office Monday']);
    const state = await settled(contact, 'flagged', (s) => s.counts.reviewFlags === 1);
    expect(state.optedOut).toBe(false);
    await exportWorkflow('review-look-alike', 'contact', contactWorkflowId(contact));
  });

  scenario('help', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await textInOrder(contact, business, ['HELP']);
    await settled(contact, 'HELP answered', (s) => s.counts.repliesSent === 1 && s.counts.helpRequests === 1);
    await exportWorkflow('help', 'contact', contactWorkflowId(contact));
  });

  scenario('help-while-opted-out', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await textInOrder(contact, business, ['STOP', 'HELP']);
    const state = await settled(contact, 'both answered', (s) => s.counts.repliesSent === 2);
    expect(state.optedOut).toBe(true);
    await exportWorkflow('help-while-opted-out', 'contact', contactWorkflowId(contact));
  });

  for (const keyword of ['START', 'UNSTOP', 'YES']) {
    const name = `resubscribe-${keyword.toLowerCase()}`;
    scenario(name, async () => {
      const [contact, business] = [uniquePhone(), uniquePhone()];
      await textInOrder(contact, business, ['STOP', keyword]);
      const state = await settled(contact, 'both confirmations sent', (s) => s.counts.repliesSent === 2);
      expect(state).toMatchObject({ optedOut: false, counts: { resubscribes: 1 } });
      await exportWorkflow(name, 'contact', contactWorkflowId(contact));
    });
  }

  scenario('start-while-subscribed', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await textInOrder(contact, business, ['START']);
    const state = await settled(contact, 'answered once', (s) => s.counts.repliesSent === 1);
    expect(state.counts.resubscribes).toBe(0);
    await exportWorkflow('start-while-subscribed', 'contact', contactWorkflowId(contact));
  });

  scenario('duplicate-message-id', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const stop = inboundText(contact, business, 'STOP');
    await harness.consent.handleInbound(stop);
    await settled(contact, 'STOP applied', (s) => s.counts.inbound === 1);
    await harness.consent.handleInbound(stop);
    await settled(contact, 'duplicate ignored', (s) => s.counts.duplicates === 1 && s.counts.repliesSent === 1);
    await exportWorkflow('duplicate-message-id', 'contact', contactWorkflowId(contact));
  });

  scenario('ordinary-text', async () => {
    // Implied consent: a thread opened, the same thread again, and a second business number's thread.
    const [contact, business, other] = [uniquePhone(), uniquePhone(), uniquePhone()];
    await textInOrder(contact, business, ['Hi, can I move my appointment to Friday?', 'Thanks!']);
    await textInOrder(contact, other, ['Is the shop open on Sunday?']);
    const state = await settled(contact, 'three texts', (s) => s.counts.inbound === 3);
    expect(state.threads.map((thread) => thread.inboundCount).sort()).toEqual([1, 2]);
    await exportWorkflow('ordinary-text', 'contact', contactWorkflowId(contact));
  });

  scenario('rejected-signals', async () => {
    // Payloads that fail validation are ignored with a log line, whichever signal carries them.
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await signalPastTheEdge(contact, inboundMessageSignal.name, inboundText(uniquePhone(), business, 'STOP'));
    await signalPastTheEdge(contact, inboundMessageSignal.name, { from: contact, to: business, body: 'no message id' });
    await signalPastTheEdge(contact, recordConsentSignal.name, { type: 'express', messageTypes: [] });
    await signalPastTheEdge(contact, recordOptOutSignal.name, { source: 'keyword', at: 'yesterday' });
    await signalPastTheEdge(contact, messageSentSignal.name, { idempotencyKey: 42 });
    await signalPastTheEdge(contact, sendRefusedSignal.name, {});
    const state = await settled(contact, 'six rejected', (s) => s.counts.rejectedSignals === 6);
    expect(state).toMatchObject({ optedOut: false, consents: [], counts: { inbound: 0 } });
    await exportWorkflow('rejected-signals', 'contact', contactWorkflowId(contact));
  });
});

// --- the opt-out hardening (v5): replies checked again, a failing provider, the provider's own replies, the door ------

describe('opt-out hardening', () => {
  scenario('help-withheld-after-stop', async () => {
    // The provider is down: the HELP answer retries; the STOP after it makes it untrue, so it is withheld.
    const [contact, business] = [uniquePhone(), uniquePhone()];
    providerDown.add(contact);
    await harness.consent.handleInbound(inboundText(contact, business, 'HELP'));
    await waitFor(() => harness.consent.getContactState(contact), (s) => s.counts.helpRequests === 1, { what: 'HELP applied' });
    await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
    await waitFor(() => harness.consent.getContactState(contact), (s) => s.optedOut && s.counts.repliesWithheld === 1, { what: 'the HELP answer withheld' });
    providerDown.delete(contact);
    const state = await settled(contact, 'confirmation sent', (s) => s.counts.repliesSent === 1);
    expect(state.counts.repliesWithheld).toBe(1);
    await exportWorkflow('help-withheld-after-stop', 'contact', contactWorkflowId(contact));
  });

  scenario('reply-rests-through-rotation', async () => {
    // A reply the provider keeps failing for its whole call (a minute) rests on a timer; the run rotates carrying it.
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const edge = edgeWith({ continueAsNewAfterEvents: CONTINUE_AS_NEW_AFTER_EVENTS });
    providerDown.add(contact);
    await edge.handleInbound(inboundText(contact, business, 'HELP'));
    const handle = harness.client.workflow.getHandle(contactWorkflowId(contact));
    const firstRun = (await handle.describe()).runId;
    for (let i = 0; i < 8; i += 1) await edge.handleInbound(inboundText(contact, business, `see you at ${i}`));
    await waitFor(() => handle.describe(), (description) => description.runId !== firstRun, { what: 'a rotation while the reply fails', timeoutMs: 120_000 });
    providerDown.delete(contact);
    await settled(contact, 'the carried HELP answered', (s) => s.counts.repliesSent === 1, edge);
    await exportWorkflow('reply-rests-through-rotation', 'contact', contactWorkflowId(contact));
  }, 180_000);

  scenario('provider-replied', async () => {
    // Twilio's default filtering answered the STOP itself: recorded, not confirmed again; a revocation it does not know is.
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const providerReplies = { provider: 'twilio' as const, optOut: ['STOP'], resubscribe: ['START'], help: ['HELP'], optOutType: null };
    await harness.consent.handleInbound(inboundText(contact, business, 'STOP'), { channel: { kind: 'twilio-webhook', key: null }, providerReplies });
    await settled(contact, 'STOP applied', (s) => s.optedOut);
    await harness.consent.handleInbound(inboundText(contact, business, 'START'), { channel: { kind: 'twilio-webhook', key: null }, providerReplies });
    await harness.consent.handleInbound(inboundText(contact, business, 'please stop texting me'), { channel: { kind: 'twilio-webhook', key: null }, providerReplies });
    const state = await settled(contact, 'the revocation confirmed', (s) => s.counts.inbound === 3 && s.counts.repliesSent === 1);
    expect(state.optOut).toMatchObject({ source: 'revocation' });
    await exportWorkflow('provider-replied', 'contact', contactWorkflowId(contact));
  });

  scenario('start-by-api-key', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await harness.consent.handleInbound(inboundText(contact, business, 'STOP'), { channel: { kind: 'api', key: 'sms-gateway' } });
    await settled(contact, 'STOP confirmed', (s) => s.counts.repliesSent === 1);
    await harness.consent.handleInbound(inboundText(contact, business, 'START'), { channel: { kind: 'api', key: 'sms-gateway' } });
    await settled(contact, 'START confirmed', (s) => !s.optedOut && s.counts.repliesSent === 2);
    await exportWorkflow('start-by-api-key', 'contact', contactWorkflowId(contact));
  });

  scenario('stop-to-short-code', async () => {
    const contact = uniquePhone();
    await textInOrder(contact, '872345', ['STOP']);
    const state = await settled(contact, 'confirmation sent', (s) => s.counts.repliesSent === 1);
    expect(state.optOut).toMatchObject({ businessNumber: '872345' });
    await exportWorkflow('stop-to-short-code', 'contact', contactWorkflowId(contact));
  });

  scenario('long-revocation', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await textInOrder(contact, business, [`Please stop texting me. ${'x'.repeat(3000)}`]);
    const state = await settled(contact, 'confirmation sent', (s) => s.counts.repliesSent === 1);
    expect(state.optOut).toMatchObject({ source: 'revocation' });
    await exportWorkflow('long-revocation', 'contact', contactWorkflowId(contact));
  });
});

// --- consents, operators, the opt-out list, the carrier ---------------------------------------------------------------

describe('consents and opt-outs not sent by text', () => {
  scenario('consent-recorded', async () => {
    const contact = uniquePhone();
    await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional', 'transactional'] });
    await settled(contact, 'consent stored', (s) => s.counts.consentsRecorded === 1);
    await exportWorkflow('consent-recorded', 'contact', contactWorkflowId(contact));
  });

  scenario('consent-refused', async () => {
    // The client refuses a purchased list before signalling; a signal sent past it is refused by the actor.
    const contact = uniquePhone();
    await signalPastTheEdge(contact, recordConsentSignal.name, {
      type: 'express',
      source: { kind: 'purchased_list', listName: 'leads-2026.csv' },
      messageTypes: ['promotional'],
      grantedAt: new Date().toISOString(),
    });
    const state = await settled(contact, 'consent refused', (s) => s.counts.consentsRefused === 1);
    expect(state.consents).toEqual([]);
    await exportWorkflow('consent-refused', 'contact', contactWorkflowId(contact));
  });

  scenario('operator-opt-out', async () => {
    // The second one changes nothing: an opt-out in force keeps its original record.
    const contact = uniquePhone();
    await harness.consent.addOptOut({ phone: contact, recordedBy: 'agent@acme.example', note: 'asked on a call', reference: 'call-8812' });
    await settled(contact, 'opted out', (s) => s.optedOut);
    await harness.consent.addOptOut({ phone: contact, recordedBy: 'other-agent@acme.example', note: 'asked again by e-mail' });
    await waitFor(
      () => harness.client.workflow.getHandle(contactWorkflowId(contact)).fetchHistory(),
      // Since v5 an operator's opt-out is the applyOptOut update (answered once in force), before it a signal.
      (history) => isQuiescent(history) && optOutsIn(history) === 2,
      { what: 'the second opt-out applied' },
    );
    const state = await settled(contact, 'still the first opt-out', (s) => s.counts.optOuts === 1);
    expect(state.optOut).toMatchObject({ source: 'operator-recorded', reference: 'call-8812' });
    await exportWorkflow('operator-opt-out', 'contact', contactWorkflowId(contact));
  });

  scenario('opt-out-restored', async () => {
    // An operator terminates an opted-out actor; the next text starts a run that reads the opt-out list first.
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const handle = harness.client.workflow.getHandle(contactWorkflowId(contact));
    await textInOrder(contact, business, ['STOP']);
    await settled(contact, 'confirmation sent and the opt-out listed', (s) => s.counts.repliesSent === 1);
    const closedRun = (await handle.describe()).runId;
    await handle.terminate('operator closed the actor by mistake');
    await harness.consent.handleInbound(inboundText(contact, business, 'what time do you open?'));
    const state = await settled(contact, 'restored from the list', (s) => s.optedOut && s.counts.inbound === 1);
    expect(state.optOut).toMatchObject({ source: 'keyword', businessNumber: business });
    await exportWorkflow('opt-out-restored', 'contact', contactWorkflowId(contact), [closedRun, undefined]);
  });

  scenario('carrier-opt-out-on-reply', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    carrierOptedOut.add(contact);
    await textInOrder(contact, business, ['HELP']);
    const state = await settled(contact, 'reply refused by the carrier', (s) => s.counts.repliesFailed === 1 && s.optedOut);
    expect(state.optOut).toMatchObject({ source: 'carrier', recordedBy: 'provider' });
    await exportWorkflow('carrier-opt-out-on-reply', 'contact', contactWorkflowId(contact));
  });

  scenario('ledger-outage', async () => {
    // The ledger refuses writes until its local activity's retries have gone to durable timers, then heals.
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const handle = harness.client.workflow.getHandle(contactWorkflowId(contact));
    ledgerDown = true;
    try {
      await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
      await waitFor(
        () => handle.fetchHistory(),
        (history) => (history.events ?? []).some((event) => event.eventType === EventType.EVENT_TYPE_TIMER_STARTED),
        { what: 'a ledger retry waiting on a durable timer' },
      );
      // The confirmation goes out meanwhile; its evidence waits in the actor with the rest.
      const waiting = await waitFor(
        () => harness.consent.getContactState(contact),
        (state) => state.counts.repliesSent === 1 && state.pendingReplies.length === 0,
        { what: 'the confirmation sent during the outage' },
      );
      expect(waiting.pendingLedger.map((entry) => entry.event)).toEqual(expect.arrayContaining(['opt_out', 'reply_sent']));
    } finally {
      ledgerDown = false;
    }
    await settled(contact, 'the ledger drained', (s) => s.counts.repliesSent === 1);
    await exportWorkflow('ledger-outage', 'contact', contactWorkflowId(contact));
  }, 120_000);
});

// --- continue-as-new -----------------------------------------------------------------------------------------------

describe('a long-lived contact', () => {
  scenario('continue-as-new', async () => {
    const lowBound = edgeWith({ continueAsNewAfterEvents: CONTINUE_AS_NEW_AFTER_EVENTS });
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const handle = harness.client.workflow.getHandle(contactWorkflowId(contact));
    const mixed = ['Hello, is this Acme?', 'HELP', 'Stop by our office Monday', 'STOP', 'what are your hours?', 'START', 'thanks'];
    const first = inboundText(contact, business, mixed[0]!);
    const runsSeen = new Set<string>();
    let texts = 0;
    // One text at a time, each applied before the next: a run rotates at most once per text, so every run is seen.
    for (let i = 0; runsSeen.size < 3 || texts < 2; i++) {
      expect(i, 'texts sent before a third run had two of its own').toBeLessThan(200);
      const text = i === 0 ? first : inboundText(contact, business, mixed[i % mixed.length]!);
      await lowBound.handleInbound(text);
      await settled(contact, `text ${i} applied`, (s) => s.counts.inbound === i + 1, lowBound);
      const { runId } = await handle.describe();
      texts = runsSeen.has(runId) ? texts + 1 : 1;
      runsSeen.add(runId);
    }
    // The dedupe list crossed the rotations: the first text again, two runs later, has no second effect.
    await lowBound.handleInbound(first);
    await settled(contact, 'duplicate across runs', (s) => s.counts.duplicates === 1, lowBound);
    const runs = await exportWorkflow('continue-as-new', 'contact', contactWorkflowId(contact));
    expect(runs.length).toBeGreaterThanOrEqual(3);
  }, 180_000);
});

// --- since v3: account keyword settings travel with each text; a run rotates with work still queued ---------------

describe('keyword settings and rotation', () => {
  scenario('keyword-settings-change', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const spanish = edgeWith({ keywords: { ...DEFAULT_KEYWORD_SETTINGS, languages: ['es'] } });
    // English-only: ALTO is an ordinary reply. Then the account enables Spanish: the same actor's next ALTO opts out.
    await textInOrder(contact, business, ['Hola', 'ALTO']);
    await spanish.handleInbound(inboundText(contact, business, 'ALTO'));
    await settled(contact, 'opted out by ALTO', (s) => s.optedOut && s.counts.repliesSent === 1);
    await exportWorkflow('keyword-settings-change', 'contact', contactWorkflowId(contact));
  });

  scenario('rotation-with-queued-work', async () => {
    const lowBound = edgeWith({ continueAsNewAfterEvents: CONTINUE_AS_NEW_AFTER_EVENTS });
    const [contact, business] = [uniquePhone(), uniquePhone()];
    // Texts faster than the replies go out: the run rotates with replies and evidence queued, the next run sends them.
    const bodies = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? 'HELP' : `question ${i}`));
    await lowBound.handleInbound(inboundText(contact, business, 'hello'));
    await Promise.all(bodies.map((body) => lowBound.handleInbound(inboundText(contact, business, body))));
    await settled(contact, 'every text applied and answered', (s) => s.counts.inbound === 41 && s.counts.repliesSent === 10, lowBound);
    const runs = await exportWorkflow('rotation-with-queued-work', 'contact', contactWorkflowId(contact));
    expect(runs.length).toBeGreaterThanOrEqual(2);
  }, 180_000);
});

// --- sends ---------------------------------------------------------------------------------------------------------

/** A new contact with express written consent for these types, once its actor holds it. */
async function consentedContact(messageTypes: ('transactional' | 'promotional')[], contact = uniquePhone()) {
  await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes });
  await settled(contact, 'consent stored', (s) => s.counts.consentsRecorded === 1);
  return contact;
}

describe('sends', () => {

  scenario('send-sent-and-refused', async () => {
    const [contact, business] = [await consentedContact(['transactional']), uniquePhone()];
    const sent = await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional' });
    expect(sent).toMatchObject({ status: 'sent' });
    await settled(contact, 'told of the send', (s) => s.counts.messagesSent === 1);
    const refused = await harness.consent.sendMessage({ to: contact, from: business, body: 'Spring sale: 20% off this week.', type: 'promotional' });
    expect(refused).toMatchObject({ status: 'refused', code: 'NO_CONSENT' });
    await settled(contact, 'told of the refusal', (s) => s.counts.sendsRefused === 1);
    await exportWorkflow('send-sent-and-refused', 'contact', contactWorkflowId(contact));
    await exportWorkflow('send-sent-and-refused', 'send-sent', sent.workflowId);
    await exportWorkflow('send-sent-and-refused', 'send-refused', refused.workflowId);
  });

  scenario('send-carrier-opt-out', async () => {
    // The provider says the recipient opted out there: refused, and the contact is opted out here (source carrier).
    const [contact, business] = [await consentedContact(['transactional']), uniquePhone()];
    carrierOptedOut.add(contact);
    const refused = await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional' });
    expect(refused).toMatchObject({ status: 'refused', code: 'OPTED_OUT', carrierOptOut: true });
    const state = await settled(contact, 'opted out by the carrier', (s) => s.optedOut && s.counts.sendsRefused === 1);
    expect(state.optOut).toMatchObject({ source: 'carrier' });
    await exportWorkflow('send-carrier-opt-out', 'contact', contactWorkflowId(contact));
    await exportWorkflow('send-carrier-opt-out', 'send', refused.workflowId);
  });

  scenario('send-provider-failed', async () => {
    // A refusal retrying cannot fix: the send fails, and (since v4) the contact's reservation is released.
    const [contact, business] = [await consentedContact(['transactional']), uniquePhone()];
    providerRefuses.add(contact);
    const failed = await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional' });
    expect(failed).toMatchObject({ status: 'failed' });
    await exportWorkflow('send-provider-failed', 'send', failed.workflowId);
    await settled(contact, 'reservation released', (s) => s.reservations.length === 0);
    await exportWorkflow('send-provider-failed', 'contact', contactWorkflowId(contact));
  });

  scenario('send-cap-reserved', async () => {
    // Six sends at once under a cap of two: the actor reserves two (reserveSend updates) and refuses four.
    const program = `replay-cap-${randomUUID().slice(0, 8)}`;
    await harness.consent.upsertProgram({ id: program, businessName: 'Acme Dental', description: 'dental tips', frequency: 'up to 2 msgs/month' });
    const contact = uniquePhone();
    await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'], program });
    await settled(contact, 'consent stored', (s) => s.counts.consentsRecorded === 1);
    const business = uniquePhone();
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        harness.consent.sendMessage({ to: contact, from: business, body: `Tip ${i}: floss daily.`, type: 'promotional', program, appendDisclosures: true }),
      ),
    );
    expect(answers.map((a) => (a.status === 'refused' ? a.code : a.status)).sort()).toEqual(['FREQUENCY_CAP', 'FREQUENCY_CAP', 'FREQUENCY_CAP', 'FREQUENCY_CAP', 'sent', 'sent']);
    await settled(contact, 'all six settled', (s) => s.reservations.length === 0 && s.counts.messagesSent === 2 && s.counts.sendsRefused === 4);
    await exportWorkflow('send-cap-reserved', 'contact', contactWorkflowId(contact));
    await exportWorkflow('send-cap-reserved', 'send-sent', answers.find((a) => a.status === 'sent')!.workflowId);
    await exportWorkflow('send-cap-reserved', 'send-refused', answers.find((a) => a.status === 'refused')!.workflowId);
  });

  scenario('send-lost-answer', async () => {
    // The provider takes the message and the answer is lost: the retry finds it at the provider and sends nothing more.
    const [contact, business] = [await consentedContact(['transactional']), uniquePhone()];
    answerLost.add(contact);
    const idempotencyKey = `replay-lost-${randomUUID()}`;
    const handle = await harness.client.workflow.start(sendMessageWorkflow, {
      workflowId: `send:${idempotencyKey}`,
      taskQueue: harness.taskQueue,
      args: [{ idempotencyKey, to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional', program: null, appendDisclosures: false }],
    });
    await waitFor(() => harness.pool.query(`SELECT 1 FROM sandbox_messages WHERE to_number = $1`, [contact]), (r) => r.rowCount === 1, { what: 'the provider to take it' });
    answerLost.delete(contact);
    expect(await handle.result()).toMatchObject({ status: 'sent' });
    await settled(contact, 'told of the send', (s) => s.counts.messagesSent === 1);
    await exportWorkflow('send-lost-answer', 'send', handle.workflowId);
    await exportWorkflow('send-lost-answer', 'contact', contactWorkflowId(contact));
  });

  scenario('send-outcome-unknown', async () => {
    // Taken, the answer lost, and the provider cannot be asked: after 30 s the gate's last word is OUTCOME_UNKNOWN.
    const [contact, business] = [await consentedContact(['transactional']), uniquePhone()];
    answerLost.add(contact);
    lookupFails.add(contact);
    const idempotencyKey = `replay-unknown-${randomUUID()}`;
    const handle = await harness.client.workflow.start(sendMessageWorkflow, {
      workflowId: `send:${idempotencyKey}`,
      taskQueue: harness.taskQueue,
      args: [{ idempotencyKey, to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional', program: null, appendDisclosures: false }],
    });
    expect(await handle.result()).toMatchObject({ status: 'unknown', code: 'OUTCOME_UNKNOWN' });
    await settled(contact, 'counted as sent', (s) => s.counts.messagesSent === 1 && s.reservations.length === 0);
    await exportWorkflow('send-outcome-unknown', 'send', handle.workflowId);
    await exportWorkflow('send-outcome-unknown', 'contact', contactWorkflowId(contact));
  }, 120_000);

  scenario('send-no-actor', async () => {
    // A contact who never texted and holds no consent has no actor to tell: the signal fails, the refusal stands.
    const refused = await harness.consent.sendMessage({ to: uniquePhone(), from: uniquePhone(), body: COMPLIANT_FIRST, type: 'promotional' });
    expect(refused).toMatchObject({ status: 'refused', code: 'NO_CONSENT' });
    await exportWorkflow('send-no-actor', 'send', refused.workflowId);
  });

  scenario('send-state-unavailable', async () => {
    // The contact's actor is on a task queue no worker polls: its state cannot be read within 30 s, so it is refused.
    const contact = uniquePhone();
    const stranded = new ConsentClient({ client: harness.client, taskQueue: `no-worker-${randomUUID()}`, pool: harness.pool });
    await stranded.handleInbound(inboundText(contact, uniquePhone(), 'hello'));
    const idempotencyKey = `replay-unavailable-${randomUUID()}`;
    const handle = await harness.client.workflow.start(sendMessageWorkflow, {
      workflowId: `send:${idempotencyKey}`,
      taskQueue: harness.taskQueue,
      args: [{ idempotencyKey, to: contact, from: uniquePhone(), body: COMPLIANT_FIRST, type: 'transactional', program: null, appendDisclosures: false }],
    });
    expect(await handle.result()).toMatchObject({ status: 'refused', code: 'STATE_UNAVAILABLE' });
    await exportWorkflow('send-state-unavailable', 'send', handle.workflowId);
    await harness.client.workflow.getHandle(contactWorkflowId(contact)).terminate('replay capture: stranded on a queue with no worker');
  }, 120_000);
});

// --- campaigns -------------------------------------------------------------------------------------------------------

describe('campaigns', () => {
  let campaigns: CampaignClient;
  beforeAll(() => {
    campaigns = new CampaignClient({ client: harness.client, taskQueue: harness.taskQueue, pool: harness.pool });
  });

  scenario('campaign-mixed', async () => {
    // Consented (sent), opted out (refused by its actor), never heard of (refused from the list), an invalid row.
    const consented = await consentedContact(['promotional']);
    const [stopped, unknown, business] = Array.from({ length: 3 }, () => uniquePhone()) as [string, string, string];
    await textInOrder(stopped, business, ['STOP']);
    const { campaignId } = await campaigns.createCampaign({
      from: business,
      type: 'promotional',
      body: 'Hello {{name}}, spring cleaning offers this week.',
      appendDisclosures: true,
      recipients: [consented, stopped, unknown, 'not a number'].map((to) => ({ to, variables: { name: 'Sam' } })),
    });
    const progress = await campaigns.waitForCampaign(campaignId);
    expect(progress.counts).toMatchObject({ sent: 1, refused: 2, invalid: 1, pending: 0, refusedByCode: { OPTED_OUT: 1, NO_CONSENT: 1 } });
    await settled(consented, 'told of the send', (s) => s.counts.messagesSent === 1);
    await exportWorkflow('campaign-mixed', 'campaign', campaignWorkflowId(campaignId));
    await exportWorkflow('campaign-mixed', 'contact-sent', contactWorkflowId(consented));
    await exportWorkflow('campaign-mixed', 'contact-stopped', contactWorkflowId(stopped));
  });

  scenario('campaign-paused-resumed', async () => {
    // Scheduled a moment ahead, paused while it runs at 2/s, resumed, completed: every recipient sent once.
    const phones: string[] = [];
    for (let i = 0; i < 6; i++) phones.push(await consentedContact(['promotional']));
    const { campaignId } = await campaigns.createCampaign({
      from: uniquePhone(),
      type: 'promotional',
      body: 'Spring cleaning offers this week.',
      appendDisclosures: true,
      ratePerSecond: 2,
      startAt: new Date(Date.now() + 1500).toISOString(),
      recipients: phones.map((to) => ({ to })),
    });
    await waitFor(() => campaigns.getCampaign(campaignId), (c) => c.counts.sent >= 1, { what: 'the first send' });
    expect((await campaigns.pause(campaignId)).status).toBe('paused');
    expect((await campaigns.resume(campaignId)).status).toBe('running');
    expect((await campaigns.waitForCampaign(campaignId)).counts).toMatchObject({ sent: 6, pending: 0 });
    await exportWorkflow('campaign-paused-resumed', 'campaign', campaignWorkflowId(campaignId));
  });

  scenario('campaign-cancelled', async () => {
    // Cancelled while it runs at 1/s: what went out stays sent, every other recipient is cancelled.
    const phones: string[] = [];
    for (let i = 0; i < 5; i++) phones.push(await consentedContact(['promotional']));
    const { campaignId } = await campaigns.createCampaign({
      from: uniquePhone(),
      type: 'promotional',
      body: 'Spring cleaning offers this week.',
      appendDisclosures: true,
      ratePerSecond: 1,
      recipients: phones.map((to) => ({ to })),
    });
    await waitFor(() => campaigns.getCampaign(campaignId), (c) => c.counts.sent >= 1, { what: 'the first send' });
    const cancelled = await campaigns.cancel(campaignId);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.counts.sent + cancelled.counts.cancelled).toBe(5);
    await campaigns.waitForCampaign(campaignId);
    await exportWorkflow('campaign-cancelled', 'campaign', campaignWorkflowId(campaignId));
  });
});

// --- since v6: the compliance clock (consent-rules.md §9) and opt-in texts (§10, CTIA 5.1.2.1) ---------------------

/** A valid number in one area code: 305 is Florida (Eastern time only), 405 Oklahoma; both states limit promotions. */
function phoneIn(areaCode: string): string {
  for (;;) {
    const exchange = randomInt(200, 1000);
    if (exchange === 555 || exchange % 100 === 11) continue;
    return `+1${areaCode}${exchange}${String(randomInt(0, 10_000)).padStart(4, '0')}`;
  }
}

/** Florida's sending window opens `seconds` from now while `body` runs; then every window is open all day again. */
async function inQuietHours<T>(seconds: number, body: () => Promise<T>): Promise<T> {
  Object.assign(clock, windowOpeningIn(seconds, { region: 'FL', timeZone: 'America/New_York' }));
  try {
    return await body();
  } finally {
    Object.assign(clock, ALWAYS_OPEN);
  }
}

/** The ledger entries of one event for a contact, oldest first. */
async function ledgerEvents(contact: string, event: string) {
  const { rows } = await harness.pool.query<{ evidence: Record<string, unknown> }>(`SELECT evidence FROM consent_ledger WHERE contact = $1 AND event = $2 ORDER BY id`, [contact, event]);
  return rows;
}

function timersIn(history: History): number {
  return (history.events ?? []).filter((event) => event.eventType === EventType.EVENT_TYPE_TIMER_STARTED).length;
}

type Held = Extract<SendMessageResult, { status: 'held' }>;

describe('the compliance clock', () => {
  let campaigns: CampaignClient;
  beforeAll(() => {
    campaigns = new CampaignClient({ client: harness.client, taskQueue: harness.taskQueue, pool: harness.pool });
  });

  scenario('send-held-then-sent', async () => {
    // A promotional send to a Florida number in its quiet hours: answered held, a durable timer, decided again, sent.
    const [contact, business] = [await consentedContact(['promotional'], phoneIn('305')), uniquePhone()];
    const { answer, result } = await inQuietHours(6, async () => {
      const answer = await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'promotional' });
      expect(answer).toMatchObject({ status: 'held', code: 'QUIET_HOURS' });
      expect(Date.parse((answer as Held).heldUntil)).toBeGreaterThan(Date.now());
      return { answer, result: await harness.client.workflow.getHandle(answer.workflowId).result() };
    });
    expect(result).toMatchObject({ status: 'sent' });
    await settled(contact, 'told of the send', (s) => s.counts.messagesSent === 1 && s.reservations.length === 0);
    const [send] = await exportWorkflow('send-held-then-sent', 'send', answer.workflowId);
    expect(timersIn(send!.history)).toBeGreaterThanOrEqual(1);
    await exportWorkflow('send-held-then-sent', 'contact', contactWorkflowId(contact));
  });

  scenario('send-held-then-stopped', async () => {
    // Held, then a STOP while it waits: when the window opens the gate decides again and refuses it OPTED_OUT.
    const [contact, business] = [await consentedContact(['promotional'], phoneIn('305')), uniquePhone()];
    const { answer, result } = await inQuietHours(6, async () => {
      const answer = await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'promotional' });
      expect(answer).toMatchObject({ status: 'held', code: 'QUIET_HOURS' });
      await textInOrder(contact, business, ['STOP']);
      expect(Date.now(), 'the STOP applied before the window opened').toBeLessThan(Date.parse((answer as Held).heldUntil));
      return { answer, result: await harness.client.workflow.getHandle(answer.workflowId).result() };
    });
    expect(result).toMatchObject({ status: 'refused', code: 'OPTED_OUT' });
    await settled(contact, 'confirmed and told of the refusal', (s) => s.optedOut && s.counts.repliesSent === 1 && s.counts.sendsRefused === 1);
    await exportWorkflow('send-held-then-stopped', 'send', answer.workflowId);
    await exportWorkflow('send-held-then-stopped', 'contact', contactWorkflowId(contact));
  });

  scenario('send-quiet-hours-refused', async () => {
    // onQuietHours 'refuse': refused QUIET_HOURS at once, naming when it would be allowed.
    const [contact, business] = [await consentedContact(['promotional'], phoneIn('305')), uniquePhone()];
    const refused = await inQuietHours(600, () =>
      harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'promotional', onQuietHours: 'refuse' }),
    );
    expect(refused).toMatchObject({ status: 'refused', code: 'QUIET_HOURS', nextAllowedAt: expect.any(String) });
    await settled(contact, 'told of the refusal', (s) => s.counts.sendsRefused === 1);
    await exportWorkflow('send-quiet-hours-refused', 'send', refused.workflowId);
    await exportWorkflow('send-quiet-hours-refused', 'contact', contactWorkflowId(contact));
  });

  scenario('send-state-limit', async () => {
    // Oklahoma allows three promotional messages in 24 h: the 4th is refused STATE_MESSAGE_LIMIT.
    const [contact, business] = [await consentedContact(['promotional'], phoneIn('405')), uniquePhone()];
    for (let n = 1; n <= 3; n += 1) {
      const sent = await harness.consent.sendMessage({ to: contact, from: business, body: `${COMPLIANT_FIRST} #${n}`, type: 'promotional' });
      expect(sent).toMatchObject({ status: 'sent' });
      await settled(contact, `told of send ${n}`, (s) => s.counts.messagesSent === n);
    }
    const fourth = await harness.consent.sendMessage({ to: contact, from: business, body: `${COMPLIANT_FIRST} #4`, type: 'promotional' });
    expect(fourth).toMatchObject({ status: 'refused', code: 'STATE_MESSAGE_LIMIT' });
    await settled(contact, 'told of the refusal', (s) => s.counts.messagesSent === 3 && s.counts.sendsRefused === 1 && s.reservations.length === 0);
    await exportWorkflow('send-state-limit', 'contact', contactWorkflowId(contact));
    await exportWorkflow('send-state-limit', 'send-refused', fourth.workflowId);
  });

  scenario('campaign-held', async () => {
    // Two Florida recipients due in their quiet hours: held, the campaign sleeps until the window opens, both sent.
    const phones = [phoneIn('305'), phoneIn('305')];
    for (const phone of phones) await consentedContact(['promotional'], phone);
    const campaignId = await inQuietHours(8, async () => {
      const { campaignId } = await campaigns.createCampaign({
        from: uniquePhone(),
        type: 'promotional',
        body: 'Spring sale: 20% off today.',
        appendDisclosures: true,
        recipients: phones.map((to) => ({ to })),
      });
      const held = await waitFor(() => campaigns.getCampaign(campaignId), (c) => c.counts.held === 2, { what: 'both recipients held' });
      expect(Date.now(), 'held before the window opened').toBeLessThan(Date.parse(held.heldUntil!));
      expect((await campaigns.waitForCampaign(campaignId)).counts).toMatchObject({ sent: 2, held: 0, pending: 0 });
      return campaignId;
    });
    await settled(phones[0]!, 'told of the send', (s) => s.counts.messagesSent === 1 && s.reservations.length === 0);
    const [run] = await exportWorkflow('campaign-held', 'campaign', campaignWorkflowId(campaignId));
    expect(timersIn(run!.history)).toBeGreaterThanOrEqual(1);
    await exportWorkflow('campaign-held', 'contact', contactWorkflowId(phones[0]!));
  });

  scenario('campaign-held-cancelled', async () => {
    // Cancelled while its recipients are held (the window ten minutes away): the wait ends, the held are cancelled.
    const phones = [phoneIn('305'), phoneIn('305')];
    for (const phone of phones) await consentedContact(['promotional'], phone);
    const campaignId = await inQuietHours(600, async () => {
      const { campaignId } = await campaigns.createCampaign({
        from: uniquePhone(),
        type: 'promotional',
        body: 'Spring sale: 20% off today.',
        appendDisclosures: true,
        recipients: phones.map((to) => ({ to })),
      });
      await waitFor(() => campaigns.getCampaign(campaignId), (c) => c.counts.held === 2, { what: 'both recipients held' });
      // The recipients are held in the rows before the workflow waits: cancel once it sleeps on its hold timer.
      await waitFor(() => harness.client.workflow.getHandle(campaignWorkflowId(campaignId)).fetchHistory(), (history) => timersIn(history) === 1, { what: 'the campaign waiting on its hold timer' });
      const cancelled = await campaigns.cancel(campaignId);
      expect(cancelled).toMatchObject({ status: 'cancelled', counts: { cancelled: 2, held: 0, sent: 0 } });
      await campaigns.waitForCampaign(campaignId);
      return campaignId;
    });
    const [run] = await exportWorkflow('campaign-held-cancelled', 'campaign', campaignWorkflowId(campaignId));
    expect((run!.history.events ?? []).some((event) => event.eventType === EventType.EVENT_TYPE_TIMER_CANCELED), 'the cancellation ended the wait').toBe(true);
  });
});

describe('opt-in texts', () => {
  async function declareProgram(prefix: string) {
    const id = `replay-${prefix}-${randomUUID().slice(0, 8)}`;
    await harness.consent.upsertProgram({ id, businessName: 'Acme Dental', description: 'Acme Club offers', frequency: 'up to 4 msgs/month' });
    return id;
  }

  scenario('opt-in-confirmation', async () => {
    // A consent to a program gets the CTIA opt-in confirmation once: the same consent again gets none.
    const [contact, business, program] = [uniquePhone(), uniquePhone(), await declareProgram('club')];
    const consent = { phone: contact, type: 'express_written' as const, source: WEB_FORM_EVIDENCE, messageTypes: ['promotional' as const], program, businessNumber: business };
    expect(await harness.consent.recordConsent(consent)).toMatchObject({ status: 'recorded', optInConfirmation: { from: business } });
    await settled(contact, 'confirmed', (s) => s.counts.consentsRecorded === 1 && s.counts.repliesSent === 1);
    await harness.consent.recordConsent(consent);
    const state = await settled(contact, 'the same consent again', (s) => s.counts.consentsRecorded === 2);
    expect(state.counts.repliesSent).toBe(1);
    await exportWorkflow('opt-in-confirmation', 'contact', contactWorkflowId(contact));
  });

  scenario('double-opt-in-confirmed', async () => {
    // Pending with its form's evidence, the opt-in request sent; the contact's Y confirms it; the opt-in confirmation follows.
    const [contact, business, program] = [uniquePhone(), uniquePhone(), await declareProgram('double')];
    const recorded = await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'], program, businessNumber: business, confirmation: 'double_opt_in' });
    expect(recorded).toMatchObject({ status: 'pending_confirmation' });
    await settled(contact, 'the opt-in request sent', (s) => s.pendingConsents.length === 1 && s.counts.repliesSent === 1);
    await textInOrder(contact, business, ['Y']);
    const state = await settled(contact, 'confirmed', (s) => s.pendingConsents.length === 0 && s.counts.consentsRecorded === 1 && s.counts.repliesSent === 2);
    expect(state.consents).toHaveLength(1);
    expect((await ledgerEvents(contact, 'consent_recorded'))[0]?.evidence).toMatchObject({ confirmedBy: { text: 'Y' } });
    await exportWorkflow('double-opt-in-confirmed', 'contact', contactWorkflowId(contact));
  });

  scenario('double-opt-in-expired', async () => {
    // No confirming reply within the (shortened) window: the durable timer fires and the pending consent expires.
    const [contact, business] = [uniquePhone(), uniquePhone()];
    doubleOptIn.windowMs = 3_000;
    try {
      await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'], businessNumber: business, confirmation: 'double_opt_in' });
    } finally {
      doubleOptIn.windowMs = DOUBLE_OPT_IN_WINDOW_MS;
    }
    await waitFor(() => ledgerEvents(contact, 'consent_expired'), (rows) => rows.length === 1, { what: 'the expiry', timeoutMs: 20_000 });
    const state = await settled(contact, 'expired', (s) => s.pendingConsents.length === 0 && s.counts.repliesSent === 1);
    expect(state.consents).toEqual([]);
    await exportWorkflow('double-opt-in-expired', 'contact', contactWorkflowId(contact));
  });

  scenario('double-opt-in-yes-while-opted-out', async () => {
    // Opted out: the double opt-in waits with its request withheld; YES re-subscribes (§2) and confirms it.
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await textInOrder(contact, business, ['STOP']);
    await settled(contact, 'STOP confirmed', (s) => s.counts.repliesSent === 1);
    await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'], businessNumber: business, confirmation: 'double_opt_in' });
    await settled(contact, 'pending, its request withheld', (s) => s.pendingConsents.length === 1);
    expect((await ledgerEvents(contact, 'consent_pending'))[0]?.evidence).toMatchObject({ requestWithheld: expect.stringContaining('opted out') });
    await textInOrder(contact, business, ['YES']);
    const state = await settled(contact, 're-subscribed and confirmed', (s) => !s.optedOut && s.pendingConsents.length === 0 && s.counts.consentsRecorded === 1 && s.counts.repliesSent === 2);
    expect(state.counts.resubscribes).toBe(1);
    await exportWorkflow('double-opt-in-yes-while-opted-out', 'contact', contactWorkflowId(contact));
  });
});

// --- since v7: the review queue's decisions and consent events out (issue 16) --------------------------------------

describe('the review queue', () => {
  /** A look-alike text flagged for review, once the actor holds its flag. */
  async function flaggedText(contact: string, business: string, body: string) {
    const message = inboundText(contact, business, body);
    await harness.consent.handleInbound(message);
    await settled(contact, `"${body}" flagged`, (s) => s.reviewFlags.length === 1);
    return message;
  }

  scenario('review-resolved-not-an-opt-out', async () => {
    // An operator decides the flagged text was no opt-out (a resolveReview update): the flag closes, nothing else.
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const message = await flaggedText(contact, business, 'We have got to STOP this bill');
    const resolution = await harness.consent.resolveReview({ phone: contact, messageId: message.messageId, decision: 'not_an_opt_out', decidedBy: 'ana@acme.example', why: 'talking about a bill' });
    expect(resolution).toMatchObject({ outcome: 'resolved', decision: 'not_an_opt_out', optOut: null, openFlags: 0 });
    const state = await settled(contact, 'the flag closed', (s) => s.reviewFlags.length === 0);
    expect(state).toMatchObject({ optedOut: false, counts: { reviewFlags: 1, repliesSent: 0 } });
    expect((await ledgerEvents(contact, 'review_resolved'))[0]?.evidence).toMatchObject({ messageId: message.messageId, decidedBy: 'ana@acme.example' });
    await exportWorkflow('review-resolved-not-an-opt-out', 'contact', contactWorkflowId(contact));
  });

  scenario('review-resolved-opt-out', async () => {
    // Decided an opt-out: operator-recorded, dated at the text's receipt with its inForceAt, confirmed once on that thread.
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const message = await flaggedText(contact, business, 'I want to stop');
    const resolution = await harness.consent.resolveReview({ phone: contact, messageId: message.messageId, decision: 'opt_out', decidedBy: 'ana@acme.example', why: 'reads as a revocation' });
    expect(resolution).toMatchObject({ outcome: 'resolved', optOut: { source: 'operator-recorded', messageId: message.messageId, businessNumber: business } });
    const state = await settled(contact, 'the confirmation sent', (s) => s.optedOut && s.reviewFlags.length === 0 && s.counts.repliesSent === 1);
    expect(Date.parse(state.optOut!.at), 'dated at the flagged text').toBe(Date.parse(message.receivedAt));
    expect((await ledgerEvents(contact, 'opt_out'))[0]?.evidence).toMatchObject({ decidedOnReview: true, inForceAt: expect.any(String) });
    await exportWorkflow('review-resolved-opt-out', 'contact', contactWorkflowId(contact));
  });
});

describe('consent events out', () => {
  const subscriptions = () => new EventSubscriptions(harness.pool);
  const receivers: WebhookReceiver[] = [];
  afterAll(async () => {
    for (const receiver of receivers) await receiver.close();
  });

  /** A subscriber on a local port (test/support/webhook-receiver.ts), and a subscription of these events to it. */
  async function subscribe(id: string, events: ConsentEventType[], source: 'api' | 'config') {
    const secret = generateWebhookSecret();
    const receiver = await startWebhookReceiver({ secrets: [secret] });
    receivers.push(receiver);
    expect(await subscriptions().save({ id, url: receiver.url, secrets: [secret], events }, source)).toBe('created');
    return receiver;
  }

  /** The contact's consent events as the stream holds them, in stream order. */
  async function streamOf(contact: string) {
    const { rows } = await harness.pool.query<{ number: string; type: ConsentEventType }>('SELECT id::text AS number, event_type AS type FROM consent_events WHERE contact = $1 ORDER BY tx, id', [contact]);
    return rows;
  }

  /** The contact's events the subscriber took (answered 2xx), in the order they came, from its `from`th request on. */
  const takenBy = (receiver: WebhookReceiver, contact: string, from = 0) =>
    receiver.requests.slice(from).filter((request) => request.status < 300 && request.payload.data.contact === contact).map((request) => request.payload.id);

  async function roundOut(workflowId: string) {
    await waitFor(
      async () => ((await harness.client.workflow.getHandle(workflowId).describe()).raw.pendingActivities ?? []).map((activity) => activity.activityType?.name),
      (names) => names.includes('deliverConsentEvents'),
      { what: `${workflowId}: a delivery round out` },
    );
  }

  scenario('event-delivery', async () => {
    // Started as the API starts it: the subscriber is down for the STOP (the round fails and is retried with backoff),
    // then up for a consent; a replay from the STOP (the update cancels the round, the next round delivers both again).
    // The workflow never rests: exported with its next round out, then terminated.
    const id = `replay-${randomUUID()}`;
    const receiver = await subscribe(id, ['contact.opted_out', 'consent.recorded'], 'api');
    const workflowId = await startEventDelivery(harness.client, harness.taskQueue, { id, url: receiver.url });
    const handle = harness.client.workflow.getHandle(workflowId);
    await roundOut(workflowId);
    const [contact, business] = [uniquePhone(), uniquePhone()];
    receiver.answer(503);
    await textInOrder(contact, business, ['STOP']);
    await waitFor(async () => receiver.requests.filter((request) => request.payload.data.contact === contact).length, (n) => n >= 3, { what: 'the opt-out refused three times' });
    receiver.answer(200);
    await waitFor(async () => takenBy(receiver, contact), (ids) => ids.length === 1, { what: 'the opt-out delivered once the subscriber is back' });
    await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'] });
    const stream = await waitFor(() => streamOf(contact), (rows) => rows.length === 2, { what: 'the consent in the stream' });
    expect(stream.map((event) => event.type)).toEqual(['contact.opted_out', 'consent.recorded']);
    const ids = stream.map((event) => consentEventId(event.number));
    await waitFor(async () => takenBy(receiver, contact), (taken) => taken.length === 2, { what: 'the consent delivered' });
    expect(takenBy(receiver, contact)).toEqual(ids);

    const before = receiver.requests.length;
    const after = await subscriptions().positionBeforeEvent(stream[0]!.number);
    const progress = await handle.executeUpdate(replayConsentEventsUpdate, { args: [{ after: after!, fromEventId: ids[0]! }] });
    expect(progress).toMatchObject({ subscriptionId: id, replayPending: true });
    await waitFor(async () => takenBy(receiver, contact, before), (taken) => taken.length === 2, { what: 'the replay to deliver both again' });
    expect(takenBy(receiver, contact, before)).toEqual(ids);
    expect(receiver.rejected).toEqual([]);

    const [run] = await exportWorkflow('event-delivery', 'delivery', workflowId, [undefined], restsOnItsActivity);
    const events = run!.history.events ?? [];
    expect(events.some((event) => (event.activityTaskStartedEventAttributes?.attempt ?? 0) > 1), 'a round retried through the outage').toBe(true);
    expect(events.filter((event) => event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED), 'the round the replay cancelled').toHaveLength(1);
    expect(events.filter((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED), 'the replay').toHaveLength(1);
    await handle.terminate('replay capture: exported');
  }, 120_000);

  scenario('event-delivery-continue-as-new', async () => {
    // Rounds of a second on a worker of its own (the pacing is the activity's; the workflow is the same): a run of two
    // rounds continues as new carrying its position, and the events go on in order across runs. Its configured
    // subscription dropped from EVENT_SUBSCRIPTIONS, the round answers stopped and the workflow completes.
    const id = `replay-configured-${randomUUID()}`;
    const receiver = await subscribe(id, ['contact.opted_out', 'contact.resubscribed'], 'config');
    const connection = await NativeConnection.connect({ address: harness.temporalAddress });
    const taskQueue = `replay-event-rounds-${randomUUID()}`;
    const worker = await Worker.create({
      connection,
      namespace: harness.namespace,
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: createEventDeliveryActivities({ subscriptions: subscriptions(), pacing: { ...EVENT_DELIVERY_PACING, roundMs: 1000, pollMs: 100 } }),
    });
    try {
      await worker.runUntil(async () => {
        const handle = await harness.client.workflow.start(eventDeliveryWorkflow, { workflowId: eventDeliveryWorkflowId(id), taskQueue, args: [{ subscriptionId: id, roundsPerRun: 2 }] });
        await roundOut(handle.workflowId);
        const runsSeen = new Set<string>([handle.firstExecutionRunId]);
        const nextRun = async (what: string) => {
          const { runId } = await waitFor(() => handle.describe(), (description) => !runsSeen.has(description.runId), { what, timeoutMs: 20_000 });
          runsSeen.add(runId);
        };
        const [contact, business] = [uniquePhone(), uniquePhone()];
        await textInOrder(contact, business, ['STOP']);
        await waitFor(async () => takenBy(receiver, contact), (taken) => taken.length === 1, { what: 'the opt-out delivered' });
        await nextRun('a continue-as-new after the opt-out');
        await textInOrder(contact, business, ['START']);
        await waitFor(async () => takenBy(receiver, contact), (taken) => taken.length === 2, { what: 'the resubscribe delivered' });
        await nextRun('a continue-as-new after the resubscribe');
        const subscribed = (await streamOf(contact)).filter((event) => event.type === 'contact.opted_out' || event.type === 'contact.resubscribed');
        expect(subscribed.map((event) => event.type)).toEqual(['contact.opted_out', 'contact.resubscribed']);
        expect(takenBy(receiver, contact)).toEqual(subscribed.map((event) => consentEventId(event.number)));
        expect((await subscriptions().syncConfigured([])).deactivated).toEqual([id]);
        expect(await handle.result()).toMatchObject({ subscriptionId: id });
      });
    } finally {
      await connection.close();
    }
    const runs = await exportWorkflow('event-delivery-continue-as-new', 'delivery', eventDeliveryWorkflowId(id));
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.at(-1)!.history.events?.at(-1)?.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  }, 120_000);
});

// --- suppression imports -------------------------------------------------------------------------------------------

describe('suppression imports', () => {
  scenario('import-mixed', async () => {
    // Numbers in every state an import meets: opted out by STOP, subscribed, new, listed with no actor (terminated).
    const [stopped, subscribed, fresh, fresh2, listed, business] = Array.from({ length: 6 }, () => uniquePhone()) as [string, string, string, string, string, string];
    await textInOrder(stopped, business, ['STOP']);
    await textInOrder(subscribed, business, ['Hi, is my order ready?']);
    await textInOrder(listed, business, ['STOP']);
    await settled(stopped, 'confirmed', (s) => s.counts.repliesSent === 1);
    await settled(listed, 'confirmed', (s) => s.counts.repliesSent === 1);
    const listedHandle = harness.client.workflow.getHandle(contactWorkflowId(listed));
    const closedRun = (await listedHandle.describe()).runId;
    await listedHandle.terminate('operator closed the actor by mistake');

    const csv = ['phone', stopped, subscribed, fresh, fresh2, fresh, 'call me maybe', listed].join('\n');
    const { importId, workflowId } = await harness.consent.importSuppressionList(csv, { recordedBy: 'ops@acme.example', fileName: 'crm-export.csv' });
    const progress = await harness.consent.waitForSuppressionImport(importId);
    expect(progress).toMatchObject({ status: 'completed', rowsRead: 7, valid: 5, duplicates: 1, invalid: 1, optedOut: 3, alreadyOptedOut: 2 });

    for (const contact of [stopped, subscribed, fresh, listed]) await settled(contact, 'import applied', (s) => s.optedOut);
    await exportWorkflow('import-mixed', 'import', workflowId);
    await exportWorkflow('import-mixed', 'contact-stopped', contactWorkflowId(stopped));
    await exportWorkflow('import-mixed', 'contact-subscribed', contactWorkflowId(subscribed));
    await exportWorkflow('import-mixed', 'contact-new', contactWorkflowId(fresh));
    await exportWorkflow('import-mixed', 'contact-listed', contactWorkflowId(listed), [closedRun, undefined]);
  });

  scenario('import-failed', async () => {
    // Not reachable through the public paths (the client stores only a file it has parsed, and the worker parses it
    // the same way): an import started for an id with no stored file is how the workflow's failed outcome occurs.
    const importId = `replay-missing-${randomUUID()}`;
    const handle = await harness.client.workflow.start(suppressionImportWorkflow, {
      workflowId: suppressionImportWorkflowId(importId),
      taskQueue: harness.taskQueue,
      args: [{ importId }],
    });
    expect(await handle.result()).toMatchObject({ status: 'failed', error: expect.stringContaining('has no stored file') });
    await exportWorkflow('import-failed', 'import', handle.workflowId);
  });
});

// --- the corpus ------------------------------------------------------------------------------------------------------

it('writes the corpus once, when every scenario captured', async () => {
  const missing = scenarios.filter((name) => !captured.has(name));
  expect(missing, 'scenarios that did not capture: nothing is written').toEqual([]);
  // mkdir without `recursive` fails if the version appeared meanwhile: a version is never overwritten.
  await mkdir(corpusRoot, { recursive: true });
  await mkdir(target);
  let bytes = 0;
  for (const file of (await readdir(staging)).sort()) {
    await copyFile(path.join(staging, file), path.join(target, file));
    bytes += (await stat(path.join(target, file))).size;
  }
  const types = [...new Set(written.map((entry) => entry.workflowType))].sort();
  console.log(
    [
      `replay corpus ${version}: ${written.length} histories, ${(bytes / 1024).toFixed(0)} KiB, workflow types ${types.join(', ')}`,
      ...written.map((entry) => `  ${entry.file} (${entry.workflowType}, ${entry.events} events)`),
    ].join('\n'),
  );
  expect(types).toEqual(['campaignWorkflow', 'contactWorkflow', 'eventDeliveryWorkflow', 'sendMessageWorkflow', 'suppressionImportWorkflow']);
});
