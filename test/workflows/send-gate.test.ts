/**
 * The send gate under concurrency and faults (README, "Sending"): a frequency cap is reserved atomically, a caller
 * told "unavailable" is never sent to, a retried attempt decides again after a STOP, and a failure after the provider
 * accepted is reported as what it was. Real dev server, real Postgres, the sandbox provider with injected faults.
 */
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxProvider } from '../../activities/providers/sandbox';
import { ProviderRejectedError, type SmsProvider } from '../../activities/providers/provider';
import { COMPLIANT_FIRST, WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
import { inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

/** What each test arranges for the provider's next calls to one contact. */
type Fault = (to: string, send: () => Promise<{ providerMessageId: string; status: string }>) => Promise<{ providerMessageId: string; status: string }>;
const faults = new Map<string, Fault>();
/** Provider calls per recipient and body. */
const providerCalls = new Map<string, number>();
const callsWith = (to: string, body: string) => providerCalls.get(`${to} ${body}`) ?? 0;
let lookupFails = new Set<string>();

function faultyProvider(pool: Pool): SmsProvider {
  const sandbox = createSandboxProvider(pool);
  return {
    name: 'sandbox',
    async send(message) {
      const key = `${message.to} ${message.body}`;
      providerCalls.set(key, (providerCalls.get(key) ?? 0) + 1);
      const fault = faults.get(message.to);
      return fault ? fault(message.to, () => sandbox.send(message)) : sandbox.send(message);
    },
    async findSent(message, since) {
      if (lookupFails.has(message.to)) throw new ProviderRejectedError('lookup unavailable (injected)', 'sandbox', 'http-503', false, true);
      return sandbox.findSent(message, since);
    },
  };
}

/** Holds the gate's fence query (pending → sending) for one contact's sends, to play a slow attempt. */
const fenceDelays = new Map<string, number>();
function slowFence(pool: Pool): Pool {
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return async (text: unknown, values?: unknown[]) => {
        if (typeof text === 'string' && text.includes('sending_since = now()')) {
          const { rows } = await target.query<{ contact: string }>('SELECT contact FROM outbound_messages WHERE id = $1', [values?.[0]]);
          const delay = fenceDelays.get(rows[0]?.contact ?? '');
          if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
        }
        return (target.query as (...a: unknown[]) => Promise<unknown>)(text, values);
      };
    },
  });
}

let harness: Harness;
/** The same worker's task queue, with a caller that waits 3 s for a decision. */
let impatient: Harness;
beforeAll(async () => {
  harness = await startHarness({ provider: faultyProvider, wrapWorkerPool: slowFence });
  impatient = await startHarness({ provider: faultyProvider, wrapWorkerPool: slowFence, sendDecisionTimeoutMs: 3000 });
});
afterAll(async () => {
  await impatient?.stop();
  await harness?.stop();
});

async function delivered(contact: string): Promise<number> {
  const { rows } = await harness.pool.query('SELECT count(*)::int AS n FROM sandbox_messages WHERE to_number = $1', [contact]);
  return rows[0].n;
}

async function consented(contact: string, program: string | null = null) {
  await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['transactional', 'promotional'], program });
  await waitFor(() => harness.consent.getContactState(contact), (s) => s.consents.length === 1, { what: 'the consent to be held' });
}

describe('the frequency cap is reserved atomically', () => {
  it('32 concurrent sends to one contact under a cap of 4 send exactly 4; the rest are refused FREQUENCY_CAP', async () => {
    const program = `cap4-${Date.now()}`;
    await harness.consent.upsertProgram({ id: program, businessName: 'Acme Dental', description: 'dental tips', frequency: 'up to 4 msgs/month' });
    const contact = uniquePhone();
    const business = uniquePhone();
    await consented(contact, program);
    const body = 'Acme Dental dental tips: floss daily! Up to 4 msgs/month. Msg & data rates may apply. Reply STOP to unsubscribe.';
    const answers = await Promise.all(
      Array.from({ length: 32 }, (_, i) => harness.consent.sendMessage({ to: contact, from: business, body: `${body} #${i}`, type: 'promotional', program })),
    );
    const outcomes = answers.map((a) => (a.status === 'refused' ? a.code : a.status)).sort();
    expect(outcomes).toEqual([...Array(28).fill('FREQUENCY_CAP'), ...Array(4).fill('sent')]);
    expect(await delivered(contact)).toBe(4);
    // Settled: the four are sends, nothing is left reserved, and a 33rd is refused too.
    const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.reservations.length === 0 && s.counts.messagesSent === 4, { what: 'the sends settled' });
    expect(state.programSends.find((p) => p.program === program)?.sentAt).toHaveLength(4);
    expect(await harness.consent.sendMessage({ to: contact, from: business, body, type: 'promotional', program })).toMatchObject({ code: 'FREQUENCY_CAP' });
  });

  it('a send the provider refuses for good frees its slot: the next send under the cap goes out', async () => {
    const program = `cap1-${Date.now()}`;
    await harness.consent.upsertProgram({ id: program, businessName: 'Acme Dental', description: 'dental tips', frequency: 'up to 1 msgs/month' });
    const contact = uniquePhone();
    const business = uniquePhone();
    await consented(contact, program);
    faults.set(contact, async () => {
      faults.delete(contact);
      throw new ProviderRejectedError('invalid body (injected)', 'sandbox', '21617', false, false);
    });
    const body = 'Acme Dental dental tips: floss daily! Up to 1 msgs/month. Msg & data rates may apply. Reply STOP to unsubscribe.';
    expect(await harness.consent.sendMessage({ to: contact, from: business, body, type: 'promotional', program })).toMatchObject({ status: 'failed', code: '21617' });
    await waitFor(() => harness.consent.getContactState(contact), (s) => s.reservations.length === 0, { what: 'the slot released' });
    expect(await harness.consent.sendMessage({ to: contact, from: business, body, type: 'promotional', program })).toMatchObject({ status: 'sent' });
    expect(await delivered(contact)).toBe(1);
  });
});

describe('no provider call after the caller was told "unavailable"', () => {
  it('an attempt still in flight at the deadline finds its row fenced and sends nothing, ever', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await consented(contact);
    // The attempt has its decision (allowed) but reaches the fence only after the caller's 3 s deadline.
    fenceDelays.set(contact, 5000);
    const key = `late-${contact}`;
    const answer = await impatient.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional', idempotencyKey: key });
    expect(answer).toMatchObject({ status: 'refused', code: 'STATE_UNAVAILABLE' });
    const late = await impatient.client.workflow.getHandle(`send:${key}`).result();
    expect(late).toMatchObject({ status: 'refused', code: 'STATE_UNAVAILABLE' });
    expect(callsWith(contact, COMPLIANT_FIRST)).toBe(0);
    expect(await delivered(contact)).toBe(0);
    // Its reservation was released: the contact's record shows the refusal, and no slot is held.
    const state = await waitFor(() => harness.consent.getContactState(contact), (s) => s.sendRefusals.length === 1 && s.reservations.length === 0, { what: 'the refusal told' });
    expect(state.sendRefusals[0]).toMatchObject({ code: 'STATE_UNAVAILABLE', idempotencyKey: key });
    fenceDelays.delete(contact);
  });
});

describe('a retried attempt decides again', () => {
  it('a STOP accepted between a failed attempt and its retry refuses the retry: nothing goes out', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await consented(contact);
    // The first attempt is allowed and reaches the provider, which fails it (retryable) just as the contact texts STOP.
    faults.set(contact, async () => {
      faults.delete(contact);
      await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
      await waitFor(() => harness.consent.getContactState(contact), (s) => s.optedOut, { what: 'the STOP accepted' });
      throw new ProviderRejectedError('503 from the provider (injected)', 'sandbox', 'http-503', false, true);
    });
    const answer = await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional' });
    expect(answer).toMatchObject({ status: 'refused', code: 'OPTED_OUT' });
    expect(callsWith(contact, COMPLIANT_FIRST)).toBe(1);
    // Only the STOP's confirmation went to the contact; the business message never did.
    const { rows } = await harness.pool.query(`SELECT body FROM sandbox_messages WHERE to_number = $1`, [contact]);
    expect(rows.map((r) => r.body)).not.toContain(COMPLIANT_FIRST);
  });
});

describe('a failure after the provider accepted is reported truthfully', () => {
  it('a lost answer is found at the provider on retry: sent once, reported sent', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await consented(contact);
    faults.set(contact, async (_to, send) => {
      faults.delete(contact);
      await send();
      throw new ProviderRejectedError('connection reset after the request was sent (injected)', 'sandbox', 'network', false, true);
    });
    const answer = await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional' });
    expect(answer).toMatchObject({ status: 'sent' });
    expect(callsWith(contact, COMPLIANT_FIRST)).toBe(1);
    expect(await delivered(contact)).toBe(1);
    const { entries } = await harness.consent.getContactHistory(contact);
    expect(entries.filter((e) => e.event === 'message_sent')).toHaveLength(1);
  });

  it('when nothing can confirm it, the answer is OUTCOME_UNKNOWN, never "not sent", and the ledger says so', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await consented(contact);
    lookupFails.add(contact);
    faults.set(contact, async (_to, send) => {
      await send();
      throw new ProviderRejectedError('connection reset after the request was sent (injected)', 'sandbox', 'network', false, true);
    });
    const key = `unknown-${contact}`;
    const answer = await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional', idempotencyKey: key });
    expect(answer).toMatchObject({ status: 'unknown', code: 'OUTCOME_UNKNOWN' });
    const final = await harness.client.workflow.getHandle(`send:${key}`).result();
    expect(final).toMatchObject({ status: 'unknown', code: 'OUTCOME_UNKNOWN' });
    const { entries } = await harness.consent.getContactHistory(contact);
    expect(entries.map((e) => e.event)).toContain('send_outcome_unknown');
    expect(entries.map((e) => e.event)).not.toContain('send_refused');
    // Counted as sent on the contact (fail closed on caps), and it went out exactly once.
    await waitFor(() => harness.consent.getContactState(contact), (s) => s.counts.messagesSent === 1 && s.reservations.length === 0, { what: 'the unknown send counted' });
    expect(await delivered(contact)).toBe(1);
    faults.delete(contact);
    lookupFails = new Set();
  }, 90_000);
});
