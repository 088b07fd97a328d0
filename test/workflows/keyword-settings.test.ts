/**
 * Keyword settings are the account's, not the actor's: each text carries the settings in force when it arrived, so a
 * change reaches every existing contact from its next text, without restarting its workflow, and replays stay exact.
 */
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { ConsentClient } from '../../client/consent-client';
import { contactWorkflow } from '../../workflows/contact';
import { contactStartOptions, contactWorkflowId } from '../../workflows/contact-start';
import { DEFAULT_KEYWORD_SETTINGS, type KeywordSettings } from '../../workflows/domain/keywords';
import { inboundMessageSignal } from '../../workflows/messages';
import { inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness?.stop();
});

const SPANISH: KeywordSettings = { ...DEFAULT_KEYWORD_SETTINGS, languages: ['es'] };

/** An edge (the API, the CLI) configured with these keyword settings, in front of the same worker. */
function edgeWith(keywords: KeywordSettings): ConsentClient {
  return new ConsentClient({ client: harness.client, taskQueue: harness.taskQueue, pool: harness.pool, workflowSettings: { keywords } });
}

async function settled(contact: string, inbound: number) {
  return waitFor(
    () => harness.consent.getContactState(contact),
    (state) => state.counts.inbound + state.counts.duplicates >= inbound && state.pendingReplies.length === 0 && state.pendingLedger.length === 0,
    { what: `${contact} to settle after ${inbound} texts` },
  );
}

async function startEvent(contact: string) {
  const history = await harness.client.workflow.getHandle(contactWorkflowId(contact)).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  return { history, input: JSON.parse(Buffer.from(payload!).toString('utf8')) as Record<string, unknown> };
}

it('a contact whose actor started under English-only settings opts out on "ALTO" once Spanish is enabled, in the same run', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  const english = edgeWith(DEFAULT_KEYWORD_SETTINGS);
  await english.handleInbound(inboundText(contact, business, 'Hola'));
  await english.handleInbound(inboundText(contact, business, 'ALTO'));
  const before = await settled(contact, 2);
  expect(before.optedOut).toBe(false);
  expect(before.lastInbound?.intent).toBe('message');
  const runBefore = (await harness.client.workflow.getHandle(contactWorkflowId(contact)).describe()).runId;

  await edgeWith(SPANISH).handleInbound(inboundText(contact, business, 'ALTO', 'SM-alto-after-spanish'));
  const after = await settled(contact, 3);
  expect(after.optedOut).toBe(true);
  expect(after.optOut).toMatchObject({ source: 'keyword', text: 'ALTO', messageId: 'SM-alto-after-spanish', businessNumber: business });
  expect(after.keywords).toEqual({ languages: ['es'] });
  expect((await harness.client.workflow.getHandle(contactWorkflowId(contact)).describe()).runId).toBe(runBefore);
  expect((await outboundFor(harness.pool, contact)).map((row) => row.kind)).toEqual(['opt_out_confirmation']);

  // The ledger says what the text was read as, and with which settings.
  const history = await waitFor(() => harness.consent.getContactHistory(contact), (page) => page.entries.some((e) => e.event === 'opt_out'));
  expect(history.entries.find((e) => e.event === 'opt_out')?.evidence).toMatchObject({ matched: 'ALTO', keywordSettings: { languages: ['es'] } });

  // The run's history, from before the change and after it, replays against the current code.
  const { history: events } = await startEvent(contact);
  await expect(Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, events, contactWorkflowId(contact))).resolves.toBeUndefined();
});

it('turning a language off reaches existing contacts too: "PARAR" is then an ordinary reply', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  await edgeWith(SPANISH).handleInbound(inboundText(contact, business, 'Hola'));
  await settled(contact, 1);
  await edgeWith(DEFAULT_KEYWORD_SETTINGS).handleInbound(inboundText(contact, business, 'PARAR'));
  const state = await settled(contact, 2);
  expect(state.optedOut).toBe(false);
  expect(state.keywords).toEqual({});
  // The defaults can never be turned off: STOP still opts out under the same settings.
  await edgeWith(DEFAULT_KEYWORD_SETTINGS).handleInbound(inboundText(contact, business, 'STOP'));
  expect((await settled(contact, 3)).optedOut).toBe(true);
});

it("the actor's input no longer carries the keyword configuration", async () => {
  const contact = uniquePhone();
  await edgeWith({ ...SPANISH, optOut: ['BASTA'], mode: 'strict' }).handleInbound(inboundText(contact, uniquePhone(), 'Hola'));
  await settled(contact, 1);
  const { input } = await startEvent(contact);
  expect(input).toEqual({ phone: contact });
  // The signal carries only what differs from the defaults.
  expect((await harness.consent.getContactState(contact)).keywords).toEqual({ optOut: ['BASTA'], mode: 'strict', languages: ['es'] });
});

it('a text signalled without settings is read with those the latest text carried', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  await edgeWith(SPANISH).handleInbound(inboundText(contact, business, 'Hola'));
  await settled(contact, 1);
  // Another service signals the actor directly, without the edge's settings.
  await harness.client.workflow.getHandle(contactWorkflowId(contact)).signal(inboundMessageSignal, { ...inboundText(contact, business, 'CANCELAR'), receivedAt: new Date().toISOString() });
  expect((await settled(contact, 2)).optOut).toMatchObject({ source: 'keyword', text: 'CANCELAR' });
});

it('an actor started before this version, with the settings in its input, keeps them until a text brings the account’s, across continue-as-new', async () => {
  const contact = uniquePhone();
  const business = uniquePhone();
  // How every actor of corpus v1 and v2 was started: the whole configuration in the input.
  const options = contactStartOptions(contact, harness.taskQueue);
  await harness.client.workflow.start(contactWorkflow, { ...options, args: [{ phone: contact, settings: { keywords: SPANISH, continueAsNewAfterEvents: 100 } }] });
  const handle = harness.client.workflow.getHandle(contactWorkflowId(contact));
  const firstRun = (await handle.describe()).runId;
  // Plain texts without settings until the history rotates.
  let sent = 0;
  while ((await handle.describe()).runId === firstRun) {
    await handle.signal(inboundMessageSignal, { ...inboundText(contact, business, `hello ${sent}`), receivedAt: new Date().toISOString() });
    sent += 1;
    await settled(contact, sent);
    if (sent > 200) throw new Error('the actor never continued as new');
  }
  const { input } = await startEvent(contact);
  expect(input.settings).toEqual({ continueAsNewAfterEvents: 100 });
  expect((input.state as { keywords?: unknown }).keywords).toEqual({ languages: ['es'] });
  await handle.signal(inboundMessageSignal, { ...inboundText(contact, business, 'ALTO'), receivedAt: new Date().toISOString() });
  expect((await settled(contact, sent + 1)).optedOut).toBe(true);
});
