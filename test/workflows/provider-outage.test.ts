/**
 * Issue 14, item 2, at length: the provider fails every call for PROVIDER_OUTAGE_SECONDS (120 in CI; the issue's
 * measurement is 600). Through it, contacts text HELP, then STOP a few seconds later, and others STOP alone. Each
 * STOP's opt-out list row must be written within 5 s, whatever the replies are doing; once the provider recovers,
 * each contact gets exactly one confirmation and no HELP answer (its STOP made it untrue). Prints the STOP-to-row
 * times (p50, max) and the confirmations per contact.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { switchableProvider } from '../support/switchable-provider';

const OUTAGE_MS = Number(process.env.PROVIDER_OUTAGE_SECONDS ?? 120) * 1000;
/** One contact's HELP-then-STOP (or lone STOP) every this often, through the whole outage. */
const CONTACT_EVERY_MS = 4000;
const LISTING_BOUND_MS = 5000;

const outage = switchableProvider();
let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ provider: outage.provider });
});
afterAll(async () => {
  outage.state.down = false;
  await harness?.stop();
});

async function listedWithin(contact: string, boundMs: number): Promise<number> {
  const start = Date.now();
  await waitFor(
    async () => (await harness.pool.query('SELECT 1 FROM opt_outs WHERE phone = $1', [contact])).rowCount,
    (rows) => rows === 1,
    { what: `${contact} on the opt-out list`, timeoutMs: boundMs * 4, intervalMs: 20 },
  );
  return Date.now() - start;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

it(
  'through a provider outage every STOP is listed within 5 s, and after it each contact is confirmed exactly once',
  async () => {
    outage.state.down = true;
    const started = Date.now();
    const contacts: { phone: string; business: string; askedHelp: boolean }[] = [];
    const listings: Promise<number>[] = [];
    for (let i = 0; Date.now() - started < OUTAGE_MS; i += 1) {
      const contact = { phone: uniquePhone(), business: uniquePhone(), askedHelp: i % 2 === 0 };
      contacts.push(contact);
      if (contact.askedHelp) {
        await harness.consent.handleInbound(inboundText(contact.phone, contact.business, 'HELP'));
        // The HELP answer is retrying against the dead provider by now.
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
      await harness.consent.handleInbound(inboundText(contact.phone, contact.business, 'STOP'));
      listings.push(listedWithin(contact.phone, LISTING_BOUND_MS));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (i + 1) * CONTACT_EVERY_MS - Date.now())));
    }
    const times = (await Promise.all(listings)).sort((a, b) => a - b);
    const providerCallsInOutage = outage.state.calls;
    outage.state.down = false;
    const outageMs = Date.now() - started;

    // Recovery: every queue empties. A reply resting on its longest timer (5 min) is tried again within that.
    for (const contact of contacts) {
      await waitFor(() => harness.consent.getContactState(contact.phone), (state) => state.pendingReplies.length === 0 && state.pendingLedger.length === 0, {
        what: `${contact.phone}'s replies after recovery`,
        timeoutMs: 7 * 60_000,
        intervalMs: 500,
      });
    }
    const confirmations: number[] = [];
    const helpAnswers: number[] = [];
    for (const contact of contacts) {
      const rows = await outboundFor(harness.pool, contact.phone);
      confirmations.push(rows.filter((row) => row.kind === 'opt_out_confirmation' && row.status === 'sent').length);
      helpAnswers.push(rows.filter((row) => row.kind === 'help' && row.status === 'sent').length);
    }
    const tally = (counts: number[]) => Object.entries(counts.reduce<Record<number, number>>((all, n) => ({ ...all, [n]: (all[n] ?? 0) + 1 }), {}));
    console.log(
      `[provider outage] ${Math.round(outageMs / 1000)} s down, ${providerCallsInOutage} provider calls failed; ${contacts.length} contacts ` +
        `(${contacts.filter((c) => c.askedHelp).length} texted HELP first); STOP to list row: p50 ${percentile(times, 50)} ms, ` +
        `p95 ${percentile(times, 95)} ms, max ${times.at(-1)} ms; confirmations per contact after recovery ${JSON.stringify(tally(confirmations))}, ` +
        `HELP answers sent ${JSON.stringify(tally(helpAnswers))}`,
    );
    expect(times.at(-1)!).toBeLessThan(LISTING_BOUND_MS);
    expect(confirmations.every((n) => n === 1), 'exactly one confirmation per contact').toBe(true);
    expect(helpAnswers.every((n) => n === 0), 'no HELP answer after its STOP').toBe(true);
  },
  OUTAGE_MS + 10 * 60_000,
);
