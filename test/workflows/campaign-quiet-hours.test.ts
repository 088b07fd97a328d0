/**
 * consent-rules.md §9 in campaigns: a promotional recipient due in its quiet hours is held until its window opens and
 * then decided again (a STOP meanwhile refuses it), or refused QUIET_HOURS when the campaign asks. The dev server
 * cannot skip time, so each test starts its own worker whose Florida window opens a few seconds after it starts.
 */
import { randomInt } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import { CampaignClient } from '../../client/campaigns';
import { campaignWorkflowId, type CampaignProgress } from '../../workflows/domain/campaign';
import { campaignProgressQuery } from '../../workflows/messages';
import { windowOpeningIn } from '../support/clock';
import { WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
import { inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

/** Seconds from a worker's start until its Florida window opens: long enough to record consents and create a campaign. */
const WINDOW_OPENS_IN_SECONDS = 8;
/** The test clock's window opens at a whole second (HH:mm:ss), up to a second before the instant asked for. */
const WINDOW_ROUNDING_MS = 1000;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

/** A worker and client whose Florida sending window opens WINDOW_OPENS_IN_SECONDS from now; the campaign client beside them. */
async function startInQuietHours() {
  const clock = windowOpeningIn(WINDOW_OPENS_IN_SECONDS);
  const opensAt = Date.now() + WINDOW_OPENS_IN_SECONDS * 1000;
  harness = await startHarness({ clock });
  const campaigns = new CampaignClient({ client: harness.client, taskQueue: harness.taskQueue, pool: harness.pool });
  return { harness, campaigns, opensAt };
}

/** Florida numbers (area code 305, America/New_York only), distinct: valid exchanges only (not 0/1 first, not 555 or N11). */
function floridaPhones(count: number): string[] {
  const phones = new Set<string>();
  while (phones.size < count) {
    const exchange = randomInt(200, 1000);
    if (exchange === 555 || exchange % 100 === 11) continue;
    phones.add(`+1305${exchange}${String(randomInt(0, 10_000)).padStart(4, '0')}`);
  }
  return [...phones];
}

async function consentToPromotions(h: Harness, phones: string[]): Promise<void> {
  await Promise.all(phones.map((phone) => h.consent.recordConsent({ phone, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional', 'transactional'] })));
}

/** Each recipient line's state as stored. */
async function recipientRows(h: Harness, campaignId: string) {
  const { rows } = await h.pool.query<{ line: number; phone: string; status: string; code: string | null; reason: string | null; held_until: Date | null; decided_at: Date | null }>(
    'SELECT line, phone, status, code, reason, held_until, decided_at FROM campaign_recipients WHERE campaign_id = $1 ORDER BY line',
    [campaignId],
  );
  return rows;
}

/** What the provider took for this campaign (its recipients' keys and its text; an opt-in or STOP confirmation is neither). */
async function providerMessages(h: Harness, campaignId: string, body: string) {
  const { rows } = await h.pool.query<{ to_number: string; body: string; created_at: Date }>(
    `SELECT to_number, body, created_at FROM sandbox_messages WHERE idempotency_key LIKE $1 AND body LIKE $2 ORDER BY created_at`,
    [`campaign:${campaignId}:%`, `${body}%`],
  );
  return rows;
}

const progressOf = (h: Harness, campaignId: string) => h.client.workflow.getHandle(campaignWorkflowId(campaignId)).query(campaignProgressQuery);

async function waitUntilHeld(h: Harness, campaignId: string, held: number): Promise<CampaignProgress> {
  return waitFor(() => progressOf(h, campaignId), (progress) => progress.counts.held === held && progress.heldUntil !== null, { what: `${held} recipients held`, timeoutMs: 20_000 });
}

const SALE = 'Spring sale: 20% off today.';

describe('a promotional campaign in its recipients quiet hours', () => {
  it('holds every recipient until their window opens, sends nothing before, then sends each once and completes', async () => {
    const { harness: h, campaigns, opensAt } = await startInQuietHours();
    const phones = floridaPhones(3);
    await consentToPromotions(h, phones);
    const { campaignId } = await campaigns.createCampaign({ from: uniquePhone(), type: 'promotional', body: SALE, appendDisclosures: true, recipients: phones.map((to) => ({ to })) });

    const held = await waitUntilHeld(h, campaignId, 3);
    expect(Date.now()).toBeLessThan(opensAt);
    expect(held).toMatchObject({ status: 'running', counts: { total: 3, held: 3, pending: 0, sent: 0 } });
    expect(Math.abs(Date.parse(held.heldUntil!) - opensAt)).toBeLessThanOrEqual(WINDOW_ROUNDING_MS + 500);
    const rows = await recipientRows(h, campaignId);
    expect(rows.map(({ status, code, decided_at }) => ({ status, code, decided_at }))).toEqual(phones.map(() => ({ status: 'held', code: 'QUIET_HOURS', decided_at: null })));
    expect(rows.every((row) => row.held_until?.toISOString() === held.heldUntil)).toBe(true);
    expect(rows[0]!.reason).toMatch(/outside the recipient's sending window/);
    // GET /v1/campaigns/:id and the recipients listing read the same from Postgres.
    expect(await campaigns.getCampaign(campaignId)).toMatchObject({ status: 'running', onQuietHours: 'hold', counts: { held: 3 }, heldUntil: held.heldUntil });
    const listed = await campaigns.listRecipients(campaignId, { status: 'held' });
    expect(listed.recipients.map(({ to, status, heldUntil }) => ({ to, status, heldUntil }))).toEqual(phones.map((to) => ({ to, status: 'held', heldUntil: held.heldUntil })));
    expect(await providerMessages(h, campaignId, SALE)).toEqual([]);

    const final = await campaigns.waitForCampaign(campaignId);
    expect(final).toMatchObject({ status: 'completed', heldUntil: null, counts: { total: 3, sent: 3, held: 0, pending: 0, refused: 0 } });
    const sent = await providerMessages(h, campaignId, SALE);
    expect(sent.map(({ to_number }) => to_number).sort()).toEqual([...phones].sort());
    for (const message of sent) expect(message.created_at.getTime()).toBeGreaterThanOrEqual(opensAt - WINDOW_ROUNDING_MS);
    expect((await recipientRows(h, campaignId)).map(({ status, held_until }) => ({ status, held_until }))).toEqual(phones.map(() => ({ status: 'sent', held_until: null })));

    // The wait is a durable timer in the history, named for the operator.
    const history = await h.client.workflow.getHandle(campaignWorkflowId(campaignId)).fetchHistory();
    const summaries = (history.events ?? [])
      .filter((event) => event.timerStartedEventAttributes && event.userMetadata?.summary)
      .map((event) => defaultPayloadConverter.fromPayload<string>(event.userMetadata!.summary!));
    expect(summaries).toContain(`3 recipients held for quiet hours until ${held.heldUntil}`);
  });

  it('a STOP from one recipient while it is held refuses it OPTED_OUT when the window opens; the others are sent', async () => {
    const { harness: h, campaigns } = await startInQuietHours();
    const phones = floridaPhones(3);
    const business = uniquePhone();
    await consentToPromotions(h, phones);
    const { campaignId } = await campaigns.createCampaign({ from: business, type: 'promotional', body: SALE, appendDisclosures: true, recipients: phones.map((to) => ({ to })) });
    await waitUntilHeld(h, campaignId, 3);

    const stopped = phones[1]!;
    await h.consent.handleInbound(inboundText(stopped, business, 'STOP'));
    await waitFor(() => h.consent.getContactState(stopped), (state) => state.optedOut, { what: 'the STOP to be in force' });
    expect((await progressOf(h, campaignId)).counts.held).toBe(3);

    const final = await campaigns.waitForCampaign(campaignId);
    expect(final).toMatchObject({ status: 'completed', counts: { total: 3, sent: 2, refused: 1, held: 0, refusedByCode: { OPTED_OUT: 1 } } });
    expect((await recipientRows(h, campaignId)).map(({ phone, status, code }) => ({ phone, status, code }))).toEqual([
      { phone: phones[0], status: 'sent', code: null },
      { phone: stopped, status: 'refused', code: 'OPTED_OUT' },
      { phone: phones[2], status: 'sent', code: null },
    ]);
    const sent = await providerMessages(h, campaignId, SALE);
    expect(sent.map(({ to_number }) => to_number).sort()).toEqual([phones[0], phones[2]].sort());
  });

  it("onQuietHours 'refuse' refuses each recipient QUIET_HOURS, naming when it would be allowed, and sends nothing", async () => {
    const { harness: h, campaigns, opensAt } = await startInQuietHours();
    const phones = floridaPhones(3);
    await consentToPromotions(h, phones);
    const { campaignId } = await campaigns.createCampaign({ from: uniquePhone(), type: 'promotional', body: SALE, appendDisclosures: true, onQuietHours: 'refuse', recipients: phones.map((to) => ({ to })) });

    const final = await campaigns.waitForCampaign(campaignId);
    expect(Date.now()).toBeLessThan(opensAt);
    expect(final).toMatchObject({ status: 'completed', heldUntil: null, counts: { total: 3, refused: 3, held: 0, sent: 0, refusedByCode: { QUIET_HOURS: 3 } } });
    const rows = await recipientRows(h, campaignId);
    expect(rows.map(({ status, code }) => `${status} ${code}`)).toEqual(phones.map(() => 'refused QUIET_HOURS'));
    for (const { reason } of rows) {
      const allowedFrom = /allowed from (\S+)$/.exec(reason ?? '')?.[1];
      expect(allowedFrom, reason ?? '').toBeDefined();
      expect(Math.abs(Date.parse(allowedFrom!) - opensAt)).toBeLessThanOrEqual(WINDOW_ROUNDING_MS + 500);
    }
    expect((await campaigns.getCampaign(campaignId)).onQuietHours).toBe('refuse');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, opensAt - Date.now()) + 1500));
    expect(await providerMessages(h, campaignId, SALE)).toEqual([]);
  });

  it('cancelling while recipients are held cancels them, and nothing is sent when the window opens', async () => {
    const { harness: h, campaigns, opensAt } = await startInQuietHours();
    const phones = floridaPhones(3);
    await consentToPromotions(h, phones);
    const { campaignId } = await campaigns.createCampaign({ from: uniquePhone(), type: 'promotional', body: SALE, appendDisclosures: true, recipients: phones.map((to) => ({ to })) });
    await waitUntilHeld(h, campaignId, 3);

    const cancelled = await campaigns.cancel(campaignId);
    expect(Date.now()).toBeLessThan(opensAt);
    expect(cancelled).toMatchObject({ status: 'cancelled', heldUntil: null, counts: { total: 3, cancelled: 3, held: 0, pending: 0, sent: 0 } });
    const rows = await recipientRows(h, campaignId);
    expect(rows.map(({ status, held_until }) => ({ status, held_until }))).toEqual(phones.map(() => ({ status: 'cancelled', held_until: null })));
    expect(rows[0]!.reason).toMatch(/cancelled while this recipient was held for quiet hours/);
    // The held messages are withdrawn: GET /v1/messages/:key no longer says "held", and the ledger says why.
    const { rows: outbox } = await h.pool.query(`SELECT status, refusal_code FROM outbound_messages WHERE starts_with(idempotency_key, $1)`, [`campaign:${campaignId}:`]);
    expect(outbox).toEqual(phones.map(() => ({ status: 'refused', refusal_code: 'CANCELLED' })));
    const { rows: withdrawals } = await h.pool.query(`SELECT count(*)::int AS n FROM consent_ledger WHERE event = 'send_refused' AND source = 'CANCELLED' AND contact = ANY($1)`, [phones]);
    expect(withdrawals[0].n).toBe(3);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, opensAt - Date.now()) + 2000));
    expect(await providerMessages(h, campaignId, SALE)).toEqual([]);
    expect((await campaigns.getCampaign(campaignId)).status).toBe('cancelled');
  });
});

describe('a transactional campaign in the same quiet hours', () => {
  it('is sent at once: quiet hours hold promotional messages only', async () => {
    const { harness: h, campaigns, opensAt } = await startInQuietHours();
    const phones = floridaPhones(3);
    await consentToPromotions(h, phones);
    const body = 'Your order shipped.';
    const { campaignId } = await campaigns.createCampaign({ from: uniquePhone(), type: 'transactional', body, appendDisclosures: true, recipients: phones.map((to) => ({ to })) });

    const final = await campaigns.waitForCampaign(campaignId);
    expect(Date.now()).toBeLessThan(opensAt);
    expect(final).toMatchObject({ status: 'completed', heldUntil: null, counts: { total: 3, sent: 3, held: 0 } });
    const sent = await providerMessages(h, campaignId, body);
    expect(sent.map(({ to_number }) => to_number).sort()).toEqual([...phones].sort());
    for (const message of sent) expect(message.created_at.getTime()).toBeLessThan(opensAt - WINDOW_ROUNDING_MS);
  });
});
