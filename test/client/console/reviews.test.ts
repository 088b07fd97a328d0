import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, startSignedInConsole, type ListeningApi, type SignedInConsole } from '../../support/browser';
import { inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../../support/harness';


let signedIn: SignedInConsole;
let harness: Harness;
let api: ListeningApi;
let page: Page;
beforeAll(async () => {
  signedIn = await startSignedInConsole('Rita Reviewer');
  ({ harness, api, page } = signedIn);
});
afterAll(async () => {
  await signedIn?.stop();
});

describe('the review queue', () => {
  it('a flagged text resolved as an opt-out opts the contact out with who decided and why; one resolved as not an opt-out changes nothing', async () => {
    const business = uniquePhone();
    const billContact = uniquePhone();
    const visitContact = uniquePhone();
    const bill = inboundText(billContact, business, 'We have got to STOP this bill');
    const visit = inboundText(visitContact, business, 'Stop by our office Monday');
    await harness.consent.handleInbound(bill);
    await harness.consent.handleInbound(visit);
    // The queue reads Temporal's visibility (NeedsReview), which follows the actors' flags within moments.
    await waitFor(
      () => harness.consent.listReviews({ limit: 500 }),
      ({ reviews }) => [billContact, visitContact].every((contact) => reviews.some((review) => review.contact === contact)),
      { what: 'both texts in the review queue', timeoutMs: 30_000, intervalMs: 250 },
    );

    await page.goto(`${api.origin}/console/reviews`);
    const billReview = page.locator('article.review', { hasText: billContact });
    const visitReview = page.locator('article.review', { hasText: visitContact });
    expect(await billReview.locator('blockquote').innerText()).toBe('We have got to STOP this bill');
    expect(await billReview.innerText()).toContain(bill.messageId);
    await screenshot(page, 'reviews-queue');

    await billReview.getByLabel('Why (optional)').fill('the contact called the texts a bill they want stopped');
    await billReview.getByRole('button', { name: 'It is an opt-out' }).click();
    await page.getByRole('status').filter({ hasText: `${billContact} is opted out` }).waitFor();
    expect(await page.locator('#review-queue').getAttribute('aria-live')).toBe('polite');

    await visitReview.getByRole('button', { name: 'Not an opt-out' }).click();
    await page.getByRole('status').filter({ hasText: `nothing changed for ${visitContact}` }).waitFor();
    await screenshot(page, 'reviews-resolved');

    const opted = await harness.consent.getContactState(billContact);
    expect(opted.optedOut).toBe(true);
    expect(opted.optOut).toMatchObject({ source: 'operator-recorded', messageId: bill.messageId, recordedBy: 'Rita Reviewer (console, key ops)', note: 'the contact called the texts a bill they want stopped' });
    expect(opted.reviewFlags).toEqual([]);
    const kept = await harness.consent.getContactState(visitContact);
    expect(kept.optedOut).toBe(false);
    expect(kept.reviewFlags).toEqual([]);

    // Both decisions are evidence, with who made them.
    const resolved = await waitFor(
      () => harness.consent.getContactHistory(visitContact),
      (history) => history.entries.some((entry) => entry.event === 'review_resolved'),
      { what: "the visit's review_resolved entry" },
    );
    expect(resolved.entries.find((entry) => entry.event === 'review_resolved')).toMatchObject({ source: 'not_an_opt_out', evidence: { decidedBy: 'Rita Reviewer (console, key ops)', flaggedText: 'Stop by our office Monday' } });

    // Resolved flags leave the queue.
    await page.goto(`${api.origin}/console/reviews`);
    expect(await page.locator('article.review', { hasText: billContact }).count()).toBe(0);
    expect(await page.locator('article.review', { hasText: visitContact }).count()).toBe(0);
  });

  it('a decision on a flag already resolved is answered in place and changes nothing', async () => {
    const contact = uniquePhone();
    const text = inboundText(contact, uniquePhone(), 'I want to stop');
    await harness.consent.handleInbound(text);
    await waitFor(() => harness.consent.listReviews({ limit: 500 }), ({ reviews }) => reviews.some((review) => review.contact === contact), { what: 'the flag in the queue', intervalMs: 250 });
    await page.goto(`${api.origin}/console/reviews`);
    const review = page.locator('article.review', { hasText: contact });
    // Someone else resolves it first (another operator, the API).
    await harness.consent.resolveReview({ phone: contact, messageId: text.messageId, decision: 'not_an_opt_out', decidedBy: 'someone else' });
    await review.getByRole('button', { name: 'It is an opt-out' }).click();
    await page.getByRole('alert').filter({ hasText: 'it was resolved already. Nothing was changed.' }).waitFor();
    expect((await harness.consent.getContactState(contact)).optedOut).toBe(false);
  });
});

describe('the revocation report', () => {
  it("shows a STOP received in the range with its durations and its confirmation, and exports the report's CSV", async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    const contact = uniquePhone();
    await harness.consent.handleInbound(inboundText(contact, uniquePhone(), 'STOP'));
    await waitFor(() => harness.consent.getContactHistory(contact), (history) => history.entries.some((entry) => entry.event === 'reply_sent'), { what: 'the confirmation in the ledger' });
    const to = new Date(Date.now() + 60_000).toISOString();

    await page.goto(`${api.origin}/console/reports/revocations?${new URLSearchParams({ from, to })}`);
    const row = page.locator('#report-rows tbody tr', { hasText: contact });
    expect(await row.innerText()).toMatch(/keyword\s+\S+ m?s\s+sent\s+\S+ m?s\s+\S+ m?s\s+\d{4}-\d{2}-\d{2}$/);
    expect(await page.locator('#report-summary').innerText()).toMatch(/Opt-outs\s+[1-9]/);
    await screenshot(page, 'revocation-report');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export every row as CSV' }).click()]);
    const rows = parse(await readFile((await download.path())!, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.find((each) => each.contact === contact)).toMatchObject({ source: 'keyword', confirmation: 'sent', confirmationLate: 'false', honouredInTime: 'true' });
  });

  it('a range the report cannot read is answered with the reason', async () => {
    await page.goto(`${api.origin}/console/reports/revocations?from=2026-12-02&to=2026-12-01`);
    expect(await page.getByRole('alert').innerText()).toContain('must be after from');
  });
});
