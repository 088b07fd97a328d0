/**
 * consent-rules.md §9–§10 against the real server: quiet hours hold (or refuse) promotional sends, state limits refuse
 * the 4th, double opt-in waits for the contact's Y, and a consent to a program is confirmed once. The dev server cannot
 * skip time: each test moves Florida's window to open seconds from now, or shortens the double opt-in's window.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPLIANT_FIRST, WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
import { ALWAYS_OPEN, windowOpeningIn } from '../support/clock';
import { inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import type { ComplianceClockSettings } from '../../workflows/domain/compliance-clock';
import type { SendMessageResult } from '../../workflows/send';

/** Mutated per test: the gate and the client read the same object. */
const clock: ComplianceClockSettings = { ...ALWAYS_OPEN };
const doubleOptIn = { windowMs: 60_000 };
let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ clock, doubleOptIn });
});
afterAll(async () => {
  await harness?.stop();
});

/** A valid number in one area code (305: Florida, Eastern time; 405: Oklahoma, Central). */
function phoneIn(areaCode: string): string {
  for (;;) {
    const exchange = randomInt(200, 1000);
    if (exchange === 555 || exchange % 100 === 11) continue;
    return `+1${areaCode}${exchange}${String(randomInt(0, 10_000)).padStart(4, '0')}`;
  }
}

function moveWindow(settings: ComplianceClockSettings): void {
  Object.assign(clock, settings);
}

async function promotionalConsent(phone: string, program: string | null = null): Promise<void> {
  await harness.consent.recordConsent({ phone, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional', 'transactional'], program });
  await waitFor(() => harness.consent.getContactState(phone), (state) => state.consents.length > 0, { what: 'the consent' });
}

async function delivered(to: string, body?: string): Promise<{ body: string; from_number: string }[]> {
  const { rows } = await harness.pool.query(
    `SELECT body, from_number FROM sandbox_messages WHERE to_number = $1 AND ($2::text IS NULL OR body = $2) ORDER BY created_at`,
    [to, body ?? null],
  );
  return rows;
}

async function ledger(contact: string, event: string): Promise<{ evidence: Record<string, unknown>; source: string | null }[]> {
  const { rows } = await harness.pool.query(`SELECT evidence, source FROM consent_ledger WHERE contact = $1 AND event = $2 ORDER BY id`, [contact, event]);
  return rows;
}

describe('quiet hours (§9)', () => {
  it('a promotional send to a Florida number inside its quiet window is held, and goes out when the window opens', async () => {
    const contact = phoneIn('305');
    const business = uniquePhone();
    await promotionalConsent(contact);
    moveWindow(windowOpeningIn(8));
    const idempotencyKey = `held-${randomUUID()}`;
    const answer = await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'promotional', idempotencyKey });
    expect(answer).toMatchObject({ status: 'held', code: 'QUIET_HOURS' });
    const heldUntil = (answer as Extract<SendMessageResult, { status: 'held' }>).heldUntil;
    expect(Date.parse(heldUntil) - Date.now()).toBeGreaterThan(2_000);
    expect(await delivered(contact)).toHaveLength(0);
    expect(await harness.consent.getMessage(idempotencyKey)).toMatchObject({ status: 'held', heldUntil });
    expect((await ledger(contact, 'send_held'))[0]?.evidence).toMatchObject({ heldUntil });

    const sent = await waitFor(() => harness.consent.getMessage(idempotencyKey), (row) => row.status === 'sent', { timeoutMs: 30_000, what: 'the held message sent' });
    expect(Date.parse(sent.updatedAt)).toBeGreaterThanOrEqual(Date.parse(heldUntil));
    expect(await delivered(contact, COMPLIANT_FIRST)).toHaveLength(1);
    // The timer is the send workflow's, visible in its history with a summary.
    const history = await harness.client.workflow.getHandle(answer.workflowId).fetchHistory();
    expect(history.events?.some((event) => event.timerStartedEventAttributes)).toBe(true);
    expect(await harness.client.workflow.getHandle(answer.workflowId).result()).toMatchObject({ status: 'sent' });
  });

  it('a STOP during the hold refuses the held message when its window opens', async () => {
    const contact = phoneIn('305');
    const business = uniquePhone();
    await promotionalConsent(contact);
    moveWindow(windowOpeningIn(6));
    const idempotencyKey = `held-stop-${randomUUID()}`;
    expect(await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'promotional', idempotencyKey })).toMatchObject({ status: 'held' });
    await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
    const settled = await waitFor(() => harness.consent.getMessage(idempotencyKey), (row) => row.status === 'refused', { timeoutMs: 30_000, what: 'the held message refused' });
    expect(settled.refusalCode).toBe('OPTED_OUT');
    expect(await delivered(contact, COMPLIANT_FIRST)).toHaveLength(0);
  });

  it('onQuietHours "refuse" answers QUIET_HOURS with the next allowed time, and sends nothing', async () => {
    const contact = phoneIn('305');
    await promotionalConsent(contact);
    moveWindow(windowOpeningIn(600));
    const answer = await harness.consent.sendMessage({ to: contact, from: uniquePhone(), body: COMPLIANT_FIRST, type: 'promotional', onQuietHours: 'refuse' });
    expect(answer).toMatchObject({ status: 'refused', code: 'QUIET_HOURS' });
    const { nextAllowedAt, reason } = answer as Extract<SendMessageResult, { status: 'refused' }>;
    expect(Math.abs(Date.parse(nextAllowedAt!) - (Date.now() + 600_000))).toBeLessThan(5_000);
    expect(reason).toContain(`allowed from ${nextAllowedAt}`);
    expect(await delivered(contact)).toHaveLength(0);
  });

  it('a transactional message inside the same quiet window passes at once', async () => {
    const contact = phoneIn('305');
    await promotionalConsent(contact);
    moveWindow(windowOpeningIn(600));
    expect(await harness.consent.sendMessage({ to: contact, from: uniquePhone(), body: COMPLIANT_FIRST, type: 'transactional' })).toMatchObject({ status: 'sent' });
    expect(await harness.consent.canSend(contact, { from: uniquePhone(), type: 'promotional' })).toMatchObject({ allowed: false, code: 'QUIET_HOURS' });
  });
});

describe('state message limits (§9)', () => {
  it('the 4th promotional message in 24 h to an Oklahoma number is refused with the time it would be allowed', async () => {
    moveWindow(ALWAYS_OPEN);
    const contact = phoneIn('405');
    const business = uniquePhone();
    await promotionalConsent(contact);
    for (let n = 1; n <= 3; n += 1) {
      expect(await harness.consent.sendMessage({ to: contact, from: business, body: `${COMPLIANT_FIRST} #${n}`, type: 'promotional' })).toMatchObject({ status: 'sent' });
    }
    const fourth = await harness.consent.sendMessage({ to: contact, from: business, body: `${COMPLIANT_FIRST} #4`, type: 'promotional' });
    expect(fourth).toMatchObject({ status: 'refused', code: 'STATE_MESSAGE_LIMIT' });
    const { nextAllowedAt } = fourth as Extract<SendMessageResult, { status: 'refused' }>;
    // The first of the three leaves the rolling window 24 h after it was sent.
    expect(Math.abs(Date.parse(nextAllowedAt!) - (Date.now() + 24 * 3_600_000))).toBeLessThan(60_000);
    // Transactional messages are not limited.
    expect(await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional' })).toMatchObject({ status: 'sent' });
  });

  it('8 concurrent promotional sends to an Oklahoma number send exactly 3', async () => {
    moveWindow(ALWAYS_OPEN);
    const contact = phoneIn('405');
    const business = uniquePhone();
    await promotionalConsent(contact);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, n) => harness.consent.sendMessage({ to: contact, from: business, body: `${COMPLIANT_FIRST} (${n})`, type: 'promotional', appendDisclosures: true })),
    );
    const codes = answers.map((answer) => (answer.status === 'refused' ? answer.code : answer.status)).sort();
    expect(codes).toEqual(['STATE_MESSAGE_LIMIT', 'STATE_MESSAGE_LIMIT', 'STATE_MESSAGE_LIMIT', 'STATE_MESSAGE_LIMIT', 'STATE_MESSAGE_LIMIT', 'sent', 'sent', 'sent']);
    const { rows } = await harness.pool.query(`SELECT count(*)::int AS n FROM sandbox_messages WHERE to_number = $1 AND body LIKE $2`, [contact, `${COMPLIANT_FIRST}%`]);
    expect(rows[0].n).toBe(3);
  });
});

describe('double opt-in (§10)', () => {
  async function declareProgram(optInConfirmation = true) {
    const id = `club-${randomUUID().slice(0, 8)}`;
    await harness.consent.upsertProgram({ id, businessName: 'Acme Dental', description: 'Acme Club offers', frequency: 'up to 4 msgs/month', optInConfirmation });
    return id;
  }

  it('a Y within the window confirms it: a consent carrying the form and the confirming text, confirmed once', async () => {
    moveWindow(ALWAYS_OPEN);
    doubleOptIn.windowMs = 60_000;
    const contact = uniquePhone();
    const business = uniquePhone();
    const program = await declareProgram();
    const recorded = await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'], program, businessNumber: business, confirmation: 'double_opt_in' });
    expect(recorded).toMatchObject({ status: 'pending_confirmation' });
    const [request] = await waitFor(() => delivered(contact), (rows) => rows.length === 1, { what: 'the opt-in request' });
    expect(request!.from_number).toBe(business);
    for (const part of ['reply Y to confirm', 'Acme Club offers', 'up to 4 msgs/month', 'Msg & data rates may apply', 'HELP', 'STOP']) expect(request!.body).toContain(part);
    // Pending is not consent.
    expect(await harness.consent.canSend(contact, { from: business, type: 'promotional', program })).toMatchObject({ allowed: false, code: 'NO_CONSENT' });

    const confirming = inboundText(contact, business, 'Y');
    await harness.consent.handleInbound(confirming);
    await waitFor(() => harness.consent.canSend(contact, { from: business, type: 'promotional', program }), (answer) => answer.allowed, { what: 'the confirmed consent' });
    const [entry] = await waitFor(() => ledger(contact, 'consent_recorded'), (rows) => rows.length === 1, { what: 'the consent in the ledger' });
    expect(entry!.evidence).toMatchObject({ evidence: { kind: 'web_form', formUrl: WEB_FORM_EVIDENCE.formUrl }, confirmedBy: { messageId: confirming.messageId, text: 'Y' } });
    expect(await ledger(contact, 'consent_pending')).toHaveLength(1);
    // The CTIA confirmation follows the Y, once.
    const texts = await waitFor(() => delivered(contact), (rows) => rows.length === 2, { what: 'the opt-in confirmation' });
    expect(texts[1]!.body).toContain('you are subscribed to Acme Club offers');
    await harness.consent.handleInbound(inboundText(contact, business, 'YES'));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await delivered(contact)).toHaveLength(2);
  });

  it('without a Y it expires, and the ledger says so; a late Y confirms nothing', async () => {
    moveWindow(ALWAYS_OPEN);
    doubleOptIn.windowMs = 3_000;
    const contact = uniquePhone();
    const business = uniquePhone();
    await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'], businessNumber: business, confirmation: 'double_opt_in' });
    const [expired] = await waitFor(() => ledger(contact, 'consent_expired'), (rows) => rows.length === 1, { timeoutMs: 20_000, what: 'the expiry' });
    expect(expired!.evidence).toMatchObject({ why: 'no confirming reply within the window' });
    await harness.consent.handleInbound(inboundText(contact, business, 'Y'));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await harness.consent.canSend(contact, { from: business, type: 'promotional' })).toMatchObject({ allowed: false, code: 'NO_CONSENT' });
    expect(await ledger(contact, 'consent_recorded')).toHaveLength(0);
    expect((await harness.consent.getContactState(contact)).pendingConsents).toHaveLength(0);
  });

  it('a Y from the wrong contact does nothing', async () => {
    moveWindow(ALWAYS_OPEN);
    doubleOptIn.windowMs = 60_000;
    const [contact, stranger] = [uniquePhone(), uniquePhone()];
    const business = uniquePhone();
    await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'], businessNumber: business, confirmation: 'double_opt_in' });
    await waitFor(() => delivered(contact), (rows) => rows.length === 1, { what: 'the opt-in request' });
    await harness.consent.handleInbound(inboundText(stranger, business, 'Y'));
    await waitFor(() => harness.consent.getContactState(stranger), (state) => state.counts.inbound === 1, { what: "the stranger's text" });
    expect(await harness.consent.canSend(contact, { from: business, type: 'promotional' })).toMatchObject({ code: 'NO_CONSENT' });
    expect(await harness.consent.canSend(stranger, { from: business, type: 'promotional' })).toMatchObject({ code: 'NO_CONSENT' });
    expect((await harness.consent.getContactState(contact)).pendingConsents).toHaveLength(1);
  });

  it('a YES from an opted-out contact with a pending double opt-in re-subscribes (§2) and confirms it', async () => {
    moveWindow(ALWAYS_OPEN);
    doubleOptIn.windowMs = 60_000;
    const contact = uniquePhone();
    const business = uniquePhone();
    await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
    await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'], businessNumber: business, confirmation: 'double_opt_in' });
    const [pending] = await waitFor(() => ledger(contact, 'consent_pending'), (rows) => rows.length === 1, { what: 'the pending consent' });
    expect(pending!.evidence).toMatchObject({ requestWithheld: expect.stringContaining('opted out') });
    await harness.consent.handleInbound(inboundText(contact, business, 'YES'));
    await waitFor(() => harness.consent.canSend(contact, { from: business, type: 'promotional' }), (answer) => answer.allowed, { what: 'the re-subscribed, confirmed consent' });
    // The opt-out confirmation, then the re-subscribe confirmation; no opt-in request ever went to the opted-out contact.
    const texts = await delivered(contact);
    expect(texts.some((text) => text.body.includes('reply Y to confirm'))).toBe(false);
  });
});

describe('the opt-in confirmation (CTIA 5.1.2.1)', () => {
  it('a consent to a program is confirmed once: the same consent again sends nothing more', async () => {
    moveWindow(ALWAYS_OPEN);
    const contact = uniquePhone();
    const business = uniquePhone();
    const id = `tips-${randomUUID().slice(0, 8)}`;
    await harness.consent.upsertProgram({ id, businessName: 'Acme Dental', description: 'dental tips', frequency: 'up to 2 msgs/month' });
    const consent = { phone: contact, type: 'express_written' as const, source: WEB_FORM_EVIDENCE, messageTypes: ['promotional' as const], program: id, businessNumber: business };
    expect(await harness.consent.recordConsent(consent)).toMatchObject({ status: 'recorded', optInConfirmation: { from: business } });
    await harness.consent.recordConsent(consent);
    const [confirmation] = await waitFor(() => delivered(contact), (rows) => rows.length === 1, { what: 'the opt-in confirmation' });
    for (const part of ['Acme Dental', 'dental tips', 'up to 2 msgs/month', 'Msg & data rates may apply', 'HELP', 'STOP']) expect(confirmation!.body).toContain(part);
    await waitFor(() => ledger(contact, 'consent_recorded'), (rows) => rows.length === 2, { what: 'both consents in the ledger' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await delivered(contact)).toHaveLength(1);
  });

  it('is never sent to an opted-out contact, nor for a program that switched it off', async () => {
    moveWindow(ALWAYS_OPEN);
    const [optedOut, other] = [uniquePhone(), uniquePhone()];
    const business = uniquePhone();
    const on = `on-${randomUUID().slice(0, 8)}`;
    const off = `off-${randomUUID().slice(0, 8)}`;
    await harness.consent.upsertProgram({ id: on, businessName: 'Acme Dental', description: 'dental tips', frequency: 'up to 2 msgs/month' });
    await harness.consent.upsertProgram({ id: off, businessName: 'Acme Dental', description: 'dental tips', frequency: 'up to 2 msgs/month', optInConfirmation: false });
    await harness.consent.handleInbound(inboundText(optedOut, business, 'STOP'));
    await waitFor(() => delivered(optedOut), (rows) => rows.length === 1, { what: 'the opt-out confirmation' });
    await harness.consent.recordConsent({ phone: optedOut, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'], program: on, businessNumber: business });
    const [withheld] = await waitFor(() => ledger(optedOut, 'reply_withheld'), (rows) => rows.length === 1, { what: 'the withheld confirmation' });
    expect(withheld!.evidence).toMatchObject({ why: 'the contact is opted out' });
    expect(await harness.consent.recordConsent({ phone: other, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'], program: off, businessNumber: business })).toMatchObject({ optInConfirmation: { skipped: expect.stringContaining('switched off') } });
    await waitFor(() => ledger(other, 'consent_recorded'), (rows) => rows.length === 1, { what: 'the consent' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await delivered(optedOut)).toHaveLength(1);
    expect(await delivered(other)).toHaveLength(0);
  });
});
