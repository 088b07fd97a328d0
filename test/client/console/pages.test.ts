import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignClient } from '../../../client/campaigns';
import { screenshot, startSignedInConsole, type ListeningApi, type SignedInConsole } from '../../support/browser';
import { distinctPhones, inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../../support/harness';


let signedIn: SignedInConsole;
let harness: Harness;
let api: ListeningApi;
let page: Page;
beforeAll(async () => {
  signedIn = await startSignedInConsole('Ira Importer');
  ({ harness, api, page } = signedIn);
});
afterAll(async () => {
  await signedIn?.stop();
});

const today = () => new Date().toISOString().slice(0, 10);

describe('suppression import', () => {
  it('an uploaded list opts its numbers out: the progress bar reaches 100% and the invalid lines are shown with their reasons', async () => {
    const numbers = distinctPhones(60);
    const lines = ['mobile', ...numbers.slice(0, 30), numbers[0]!, 'oops', ...numbers.slice(30), '+1234', ''];
    await page.goto(`${api.origin}/console/imports`);
    await screenshot(page, 'import-form');
    await page.getByLabel('CSV file').setInputFiles({ name: 'suppression.csv', mimeType: 'text/csv', buffer: Buffer.from(lines.join('\n')) });
    await page.getByLabel('Number column (optional)').fill('mobile');
    await page.getByRole('button', { name: 'Import list' }).click();
    await page.waitForURL(/\/console\/imports\/[0-9a-f-]{36}$/);
    const progress = page.locator('#import-progress-bar');
    expect(await progress.getAttribute('max')).toBe('100');
    expect(await progress.getAttribute('aria-labelledby')).toBe('import-progress-label');
    expect(await page.locator('#import-progress').getAttribute('aria-live')).toBe('polite');
    // htmx polls the import's progress in place until it has ended.
    await expect.poll(() => progress.getAttribute('value'), { timeout: 60_000, interval: 250 }).toBe('100');
    await page.locator('#import-status', { hasText: 'completed' }).waitFor();
    expect(await progress.getAttribute('aria-valuetext')).toBe('100%, 60 of 60 numbers');
    expect(await page.locator('#import-percent').textContent()).toBe('100%');
    const counts = await page.locator('.counts').innerText();
    expect(counts).toMatch(/Rows read\s+63/);
    expect(counts).toMatch(/Opted out by this import\s+60/);
    expect(counts).toMatch(/Duplicates\s+1/);
    expect(counts).toMatch(/Invalid\s+2/);
    const invalid = await page.locator('#invalid-lines tbody tr').allInnerTexts();
    expect(invalid).toHaveLength(2);
    expect(invalid[0]).toMatch(/^33\s+oops\s+.*not in E\.164/);
    expect(invalid[1]).toMatch(/^64\s+\+1234\s+/);
    await screenshot(page, 'import-completed');
    // No more polling once it has ended: the last fragment carries no trigger.
    expect(await page.locator('#import-progress [hx-trigger]').count()).toBe(0);
    for (const phone of [numbers[0]!, numbers[59]!]) expect((await harness.consent.getContactState(phone)).optOut).toMatchObject({ source: 'suppression-import', recordedBy: 'Ira Importer (console, key ops)' });

    // The list, filtered to imports of today, pages on by its cursor.
    await page.goto(`${api.origin}/console/opt-outs?source=suppression-import&from=${today()}`);
    const rows = page.locator('#opt-out-results tbody tr');
    expect(await rows.count()).toBe(50);
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.waitForURL(/cursor=/);
    expect(await rows.count()).toBeGreaterThanOrEqual(10);
    await screenshot(page, 'opt-outs-imports-page-2');
  });

  it('a file that is not a list is refused on the form with the reason, and nothing starts', async () => {
    await page.goto(`${api.origin}/console/imports`);
    await page.getByLabel('CSV file').setInputFiles({ name: 'list.csv', mimeType: 'text/csv', buffer: Buffer.from('phone\n+14155550123\n') });
    await page.getByLabel('Number column (optional)').fill('mobile');
    await page.getByRole('button', { name: 'Import list' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('column');
    expect(new URL(page.url()).pathname).toBe('/console/imports');
    await screenshot(page, 'import-refused');
  });
});

describe('the opt-out list', () => {
  it('filters by source and day, exports the filtered list as CSV, and records an opt-out taken by phone with who took it', async () => {
    const stopped = uniquePhone();
    await harness.consent.handleInbound(inboundText(stopped, uniquePhone(), 'STOP'));
    const called = uniquePhone();

    await page.goto(`${api.origin}/console/opt-outs`);
    await page.getByLabel("Contact's number").fill(called);
    await page.getByLabel('How they asked (note)').fill('asked on a call to stop texts');
    await page.getByLabel('Reference (call id, ticket, e-mail id)').fill('call-8812');
    await page.getByLabel('Your name').fill('Ola Agent');
    await page.getByRole('button', { name: 'Record opt-out' }).click();
    // htmx swaps the answer into the live region; the form is fresh again.
    await page.locator('#add-opt-out-result', { hasText: `${called} is opted out` }).waitFor();
    expect(await page.getByLabel("Contact's number").inputValue()).toBe('');
    await screenshot(page, 'opt-outs-added');
    expect((await harness.consent.getContactState(called)).optOut).toMatchObject({ source: 'operator-recorded', recordedBy: 'Ola Agent (console, key ops)', note: 'asked on a call to stop texts', reference: 'call-8812' });

    // A bad number is answered in place, naming the field, and records nothing.
    await page.getByLabel("Contact's number").fill('12345');
    await page.getByRole('button', { name: 'Record opt-out' }).click();
    await page.locator('#add-opt-out-result', { hasText: 'Nothing was recorded' }).waitFor();
    expect(await page.locator('#add-opt-out-result').textContent()).toContain('phone');
    expect(await page.getByLabel("Contact's number").inputValue()).toBe('12345');

    await page.getByLabel('Source').selectOption('operator-recorded');
    await page.getByLabel('From (day, inclusive)').fill(today());
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.waitForURL(/source=operator-recorded/);
    await page.locator('#opt-out-results tbody tr', { hasText: called }).waitFor();
    const shown = await page.locator('#opt-out-results tbody').innerText();
    expect(shown).not.toContain(stopped);
    expect(await page.locator('#opt-out-results tbody tr', { hasText: called }).innerText()).toContain('Ola Agent (console, key ops)');
    await screenshot(page, 'opt-outs-filtered');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export these as CSV' }).click()]);
    expect(download.suggestedFilename()).toBe('opt-outs.csv');
    const rows = parse(await readFile((await download.path())!, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['phone', 'optedOutAt', 'businessNumber', 'source', 'recordedBy', 'reference', 'note']);
    expect(rows.find((row) => row.phone === called)).toMatchObject({ source: 'operator-recorded', reference: 'call-8812' });
    expect(rows.every((row) => row.source === 'operator-recorded')).toBe(true);
  });

  it('no console route removes an opt-out: every route is a GET or a POST that adds, and none names a removal', () => {
    const routes = api.app.printRoutes({ commonPrefix: false });
    const consoleRoutes = routes.split('\n').filter((line) => line.includes('console'));
    expect(consoleRoutes.length).toBeGreaterThan(0);
    for (const line of consoleRoutes) {
      expect(line).not.toMatch(/DELETE|PUT|PATCH/);
      expect(line).not.toMatch(/remove|delete|lift|resubscribe/i);
    }
  });
});

describe('the contact page', () => {
  it("shows a STOP's evidence: opted out since when, on which number, the text and its message id, in the ledger's timeline, with the Temporal Web UI link", async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    // A question first opens the thread (implied consent for replies); then the STOP.
    await harness.consent.handleInbound(inboundText(contact, business, 'When does the store open?'));
    const stop = inboundText(contact, business, 'STOP');
    await harness.consent.handleInbound(stop);
    await waitFor(() => harness.consent.getContactHistory(contact), (history) => history.entries.some((entry) => entry.event === 'reply_sent'), { what: 'the STOP and its confirmation in the ledger' });

    // Found from the header's lookup, written as people write it.
    await page.goto(`${api.origin}/console/opt-outs`);
    const national = `(${contact.slice(2, 5)}) ${contact.slice(5, 8)}-${contact.slice(8)}`;
    await page.getByLabel('Contact number').fill(national);
    await page.getByRole('button', { name: 'Open contact' }).click();
    await page.waitForURL(`${api.origin}/console/contacts/${encodeURIComponent(contact)}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Contact ${contact}`);
    const status = await page.locator('#contact-status').innerText();
    expect(status).toContain('Opted out');
    expect(status).toContain(stop.receivedAt);
    expect(status).toContain('source keyword');
    expect(status).toContain(business);
    expect(await page.locator('.facts').innerText()).toContain(stop.messageId);

    const optOut = page.locator('.timeline-entry[data-event="opt_out"]');
    expect(await optOut.count()).toBe(1);
    expect(await optOut.innerText()).toContain('(keyword)');
    expect(await optOut.locator('.summary').innerText()).toContain(`“STOP” · message ${stop.messageId} · matched STOP`);
    await optOut.locator('summary').click();
    expect(JSON.parse(await optOut.locator('pre').innerText())).toMatchObject({ text: 'STOP', messageId: stop.messageId });
    expect(await page.locator('.timeline-entry[data-event="reply_sent"]').count()).toBe(1);
    // The thread the STOP opened, and the confirmation that went out on it.
    expect(await page.getByRole('table', { name: /Threads/ }).innerText()).toContain(business);
    expect(await page.getByRole('table', { name: /Newest first/ }).innerText()).toContain('You have been unsubscribed');

    const link = page.getByRole('link', { name: /in the Temporal Web UI/ });
    expect(await link.getAttribute('href')).toBe(`http://localhost:8233/namespaces/default/workflows/${encodeURIComponent(`contact:${contact}`)}`);
    await screenshot(page, 'contact-stop-evidence');
  });

  it('a number that is not one is answered with the reason', async () => {
    await page.goto(`${api.origin}/console/opt-outs`);
    await page.getByLabel('Contact number').fill('front-desk');
    await page.getByRole('button', { name: 'Open contact' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toContain('"front-desk" is not a phone number');
  });
});

describe('programs', () => {
  it('declares a program and lists it; a frequency the engine cannot enforce is refused on the form', async () => {
    const id = `console-${randomUUID().slice(0, 8)}`;
    await page.goto(`${api.origin}/console/programs`);
    await page.getByLabel('Program id').fill(id);
    await page.getByLabel('Business name').fill('Acme Pharmacy');
    await page.getByLabel('What contacts receive').fill('refill reminders');
    await page.getByLabel('Frequency').fill('whenever we like');
    await page.getByRole('button', { name: 'Declare program' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toContain('frequency');
    expect(await page.getByLabel('Program id').inputValue()).toBe(id);

    await page.getByLabel('Frequency').fill('up to 4 msgs/month');
    await page.getByLabel('transactional').check();
    await page.getByRole('button', { name: 'Declare program' }).click();
    await page.getByRole('status').filter({ hasText: `Program ${id} declared` }).waitFor();
    const row = page.locator('#program-list tbody tr', { hasText: id });
    expect(await row.innerText()).toMatch(/Acme Pharmacy\s+refill reminders\s+up to 4 msgs\/month\s+transactional, promotional\s+sent/);
    await screenshot(page, 'programs');
    expect((await harness.consent.listPrograms()).find((program) => program.id === id)).toMatchObject({ frequency: 'up to 4 msgs/month', quietHoursTypes: ['transactional', 'promotional'] });
  });
});

describe('campaigns', () => {
  it('lists a campaign with its progress, and pauses, resumes and cancels it', async () => {
    const campaigns = new CampaignClient({ client: harness.client, taskQueue: harness.taskQueue, pool: harness.pool });
    // Scheduled an hour ahead: it waits on its durable timer, so each control acts on a campaign that is still live.
    const { campaignId } = await campaigns.createCampaign({
      from: [uniquePhone()],
      type: 'transactional',
      body: 'Your order shipped. Reply STOP to opt out.',
      appendDisclosures: true,
      startAt: new Date(Date.now() + 3_600_000).toISOString(),
      recipients: distinctPhones(3).map((to) => ({ to })),
    });
    await waitFor(() => campaigns.getCampaign(campaignId), (campaign) => campaign.status === 'scheduled', { what: 'the campaign scheduled' });

    await page.goto(`${api.origin}/console/campaigns`);
    const row = page.locator('#campaign-list tbody tr', { hasText: campaignId });
    expect(await row.innerText()).toMatch(/scheduled\s+transactional/);
    expect(await row.locator('progress').getAttribute('value')).toBe('0');
    await screenshot(page, 'campaigns');
    await row.getByRole('link').click();
    await page.waitForURL(`${api.origin}/console/campaigns/${campaignId}`);
    await screenshot(page, 'campaign-scheduled');

    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('#campaign-status', { hasText: 'paused' }).waitFor();
    expect(await page.locator('#campaign-progress').innerText()).toContain(`Campaign ${campaignId}: paused.`);
    await screenshot(page, 'campaign-paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('#campaign-status', { hasText: 'scheduled' }).waitFor();

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Cancel campaign' }).click();
    await page.locator('#campaign-status', { hasText: 'cancelled' }).waitFor();
    expect(await page.getByRole('button', { name: /Pause|Resume|Cancel/ }).count()).toBe(0);
    const counts = await page.locator('.counts').innerText();
    expect(counts).toMatch(/Cancelled\s+3/);
    expect(await page.locator('#campaign-progress-bar').getAttribute('value')).toBe('100');
    await screenshot(page, 'campaign-cancelled');
    expect((await campaigns.getCampaign(campaignId)).status).toBe('cancelled');
  });
});
