/**
 * Issue 14, item 7: a deployment whose provider answers STOP, START and HELP itself sends no second confirmation,
 * and still confirms what the provider does not recognise. Twilio here is the fake (test/support/fake-twilio.ts),
 * which answers its keywords as Twilio's docs say when its filtering is on; Telnyx's documented defaults are modelled
 * in this file. Every count is of the texts that reached the contact: the provider's own answers plus the engine's.
 */
import type { FastifyInstance } from 'fastify';
import type { KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTwilioProvider } from '../../activities/providers/twilio';
import { TELNYX_DEFAULT_KEYWORDS, type TelnyxKeywordReplies, type TwilioKeywordReplies } from '../../client/http/webhooks/keyword-replies';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio';
import { buildTestApi, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { PUBLIC_BASE_URL, postSignedTelnyx, postSignedTwilio, telnyxKeys, telnyxReceived, twilioInboundForm } from '../support/signed-webhooks';

let twilio: FakeTwilio;
let harness: Harness;
let telnyxSigningKey: KeyObject;
const apis = new Map<string, FastifyInstance>();

beforeAll(async () => {
  twilio = await startFakeTwilio();
  harness = await startHarness({
    provider: () => createTwilioProvider({ accountSid: twilio.accountSid, authToken: twilio.authToken, baseUrl: twilio.baseUrl }),
  });
  const telnyx = telnyxKeys();
  telnyxSigningKey = telnyx.signingKey;
  for (const [twilioMode, telnyxMode] of [['engine', 'engine'], ['twilio-default', 'telnyx-default'], ['advanced-opt-out', 'engine']] as const) {
    apis.set(
      twilioMode,
      await buildTestApi(harness, harness.taskQueue, {
        webhooks: { publicBaseUrl: PUBLIC_BASE_URL, twilioAuthToken: twilio.authToken, telnyxPublicKey: telnyx.publicKey, keywordReplies: { twilio: twilioMode, telnyx: telnyxMode } },
      }),
    );
  }
});
afterAll(async () => {
  for (const api of apis.values()) await api.close();
  await harness?.stop();
  await twilio?.close();
});

/** How Twilio is set up for each of the engine's modes: the two must agree, which is what the README's set-up says. */
const TWILIO_FILTERING = { engine: 'off', 'twilio-default': 'default', 'advanced-opt-out': 'advanced-opt-out' } as const;

/** A text through Twilio: Twilio answers its keywords first (if its filtering is on), then calls the webhook. */
async function throughTwilio(mode: TwilioKeywordReplies, contact: string, business: string, body: string, { shortCode = false } = {}) {
  // Twilio gives standalone short codes no keyword handling.
  const optOutType = twilio.receiveText({ from: contact, to: business, body }, shortCode ? 'off' : TWILIO_FILTERING[mode]);
  const response = await postSignedTwilio(apis.get(mode)!, twilio.authToken, twilioInboundForm(contact, business, body, optOutType ? { OptOutType: optOutType } : {}));
  expect(response.statusCode).toBe(200);
}

/** Telnyx's default opt-out management answers its opt-out and opt-in keywords (no HELP), then calls the webhook. */
const telnyxAnswers: { to: string; body: string }[] = [];
async function throughTelnyx(mode: TelnyxKeywordReplies, contact: string, business: string, body: string) {
  const word = body.trim().toUpperCase();
  if (mode === 'telnyx-default' && [...TELNYX_DEFAULT_KEYWORDS.optOut, ...TELNYX_DEFAULT_KEYWORDS.resubscribe].includes(word)) {
    telnyxAnswers.push({ to: contact, body: `Telnyx: you replied ${word}` });
  }
  const response = await postSignedTelnyx(apis.get(mode === 'telnyx-default' ? 'twilio-default' : 'engine')!, telnyxSigningKey, telnyxReceived(contact, business, body));
  expect(response.statusCode).toBe(202);
}

/** Waits until the actor has read `inbound` texts and has no reply or ledger entry left, then counts what reached the contact. */
async function textsReaching(contact: string, inbound: number) {
  const state = await waitFor(
    () => harness.consent.getContactState(contact),
    (current) => current.counts.inbound >= inbound && current.pendingReplies.length === 0 && current.pendingLedger.length === 0,
    { what: `${contact} to settle` },
  );
  const engine = twilio.messages.filter((message) => message.to === contact);
  const attempts = twilio.sendAttempts.filter((attempt) => attempt.to === contact);
  const provider = [...twilio.autoReplies.filter((reply) => reply.to === contact), ...telnyxAnswers.filter((answer) => answer.to === contact)];
  return { state, engine, attempts, provider, total: engine.length + provider.length };
}

async function ledgerEvents(contact: string) {
  const { rows } = await harness.pool.query<{ event: string; source: string | null; evidence: Record<string, unknown> }>(
    'SELECT event, source, evidence FROM consent_ledger WHERE contact = $1 ORDER BY id',
    [contact],
  );
  return rows;
}

describe('Twilio', () => {
  it.each(['engine', 'twilio-default', 'advanced-opt-out'] as const)('in mode %s, a STOP reaches the contact with exactly one confirmation', async (mode) => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await throughTwilio(mode, contact, business, 'STOP');
    const reached = await textsReaching(contact, 1);
    expect(reached.state.optedOut).toBe(true);
    expect(reached.total).toBe(1);
    if (mode === 'engine') {
      expect(reached.engine).toHaveLength(1);
    } else {
      // Not even an attempt: a second confirmation would only have met Twilio's 21610.
      expect(reached.attempts).toHaveLength(0);
      const answered = (await ledgerEvents(contact)).filter((row) => row.event === 'provider_replied');
      expect(answered).toEqual([
        expect.objectContaining({ source: 'opt_out_confirmation', evidence: expect.objectContaining({ provider: 'twilio', ...(mode === 'advanced-opt-out' ? { optOutType: 'STOP' } : {}) }) }),
      ]);
    }
  });

  it.each(['engine', 'twilio-default', 'advanced-opt-out'] as const)('in mode %s, HELP and then START after a STOP each reach the contact once', async (mode) => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await throughTwilio(mode, contact, business, 'HELP');
    expect((await textsReaching(contact, 1)).total).toBe(1);
    await throughTwilio(mode, contact, business, 'STOP');
    expect((await textsReaching(contact, 2)).total).toBe(2);
    await throughTwilio(mode, contact, business, 'START');
    const reached = await textsReaching(contact, 3);
    expect(reached.state.optedOut).toBe(false);
    expect(reached.total).toBe(3);
  });

  it.each(['twilio-default', 'advanced-opt-out'] as const)('in mode %s, a revocation in other words, which Twilio does not recognise, is confirmed by the engine', async (mode) => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await throughTwilio(mode, contact, business, 'Please stop texting me');
    const reached = await textsReaching(contact, 1);
    expect(reached.state.optedOut).toBe(true);
    expect(reached.provider).toHaveLength(0);
    expect(reached.engine).toHaveLength(1);
    expect(reached.total).toBe(1);
  });

  it('in mode twilio-default, a STOP to a standalone short code (no Twilio keyword handling) is confirmed by the engine', async () => {
    const [contact, shortCode] = [uniquePhone(), '872345'];
    await throughTwilio('twilio-default', contact, shortCode, 'STOP', { shortCode: true });
    const reached = await textsReaching(contact, 1);
    expect(reached.engine).toEqual([expect.objectContaining({ from: shortCode })]);
    expect(reached.total).toBe(1);
  });
});

describe('Telnyx', () => {
  it.each(['engine', 'telnyx-default'] as const)('in mode %s, a STOP reaches the contact with exactly one confirmation, and HELP with one answer', async (mode) => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await throughTelnyx(mode, contact, business, 'HELP');
    const helped = await textsReaching(contact, 1);
    // Telnyx's defaults answer no HELP: the engine does, in both modes.
    expect(helped.engine).toHaveLength(1);
    expect(helped.total).toBe(1);
    await throughTelnyx(mode, contact, business, 'STOP');
    const reached = await textsReaching(contact, 2);
    expect(reached.state.optedOut).toBe(true);
    expect(reached.total).toBe(2);
    expect(reached.engine).toHaveLength(mode === 'engine' ? 2 : 1);
  });
});
