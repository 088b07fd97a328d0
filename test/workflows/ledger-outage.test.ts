/**
 * A ledger write that fails for a passing reason (the database refuses it for a while) retries without holding up
 * the actor: its replies go out and its later texts are answered meanwhile, and every entry lands once it heals.
 */
import type { Pool } from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ContactState } from '../../workflows/domain/contact-state';
import { contactStateQuery } from '../../workflows/messages';
import { adminShutdownError, failCheckedOutQueries } from '../support/pool-faults';
import { inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

let ledgerDown = false;
let refusedAppends = 0;
/** The worker's pool, with every ledger INSERT failing like a lost connection while `ledgerDown` holds. */
function ledgerOutage(pool: Pool): Pool {
  return failCheckedOutQueries(pool, (text) => {
    if (!ledgerDown || !text.includes('INSERT INTO consent_ledger')) return undefined;
    refusedAppends += 1;
    return adminShutdownError();
  });
}

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ wrapWorkerPool: ledgerOutage });
});
afterAll(async () => {
  ledgerDown = false;
  await harness?.stop();
});

const state = (contact: string) => harness.client.workflow.getHandle(`contact:${contact}`).query(contactStateQuery) as Promise<ContactState>;

it('while the ledger refuses writes, a STOP is confirmed and a later HELP answered; every entry lands once it heals', async () => {
  const [contact, business] = [uniquePhone(), uniquePhone()];
  ledgerDown = true;
  await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
  await harness.consent.handleInbound(inboundText(contact, business, 'HELP'));
  const sent = await waitFor(
    () => outboundFor(harness.pool, contact),
    (rows) => rows.filter((row) => row.status === 'sent').length === 2,
    { what: 'the confirmation and the HELP answer sent while the ledger is down' },
  );
  expect(sent.map((row) => row.kind).sort()).toEqual(['help', 'opt_out_confirmation']);
  // The evidence is still waiting, durably, in the actor; the opt-out is in force all the same.
  // A send check answers meanwhile: the actor is not held inside a retrying write.
  expect(await harness.consent.canSend(contact, { from: business, type: 'transactional' })).toMatchObject({ code: 'OPTED_OUT' });
  const waiting = await state(contact);
  expect(waiting.optedOut).toBe(true);
  expect(waiting.pendingLedger.map((entry) => entry.event)).toEqual(expect.arrayContaining(['opt_out', 'help_requested', 'reply_sent']));
  expect(refusedAppends).toBeGreaterThan(0);
  expect((await harness.pool.query('SELECT 1 FROM consent_ledger WHERE contact = $1', [contact])).rowCount).toBe(0);

  ledgerDown = false;
  await waitFor(() => state(contact), (current) => current.pendingLedger.length === 0, { what: 'the pending ledger drained', timeoutMs: 90_000 });
  const { rows } = await harness.pool.query<{ event: string; source: string | null }>('SELECT event, source FROM consent_ledger WHERE contact = $1 ORDER BY event, source', [contact]);
  expect(rows).toEqual([
    { event: 'help_requested', source: null },
    { event: 'opt_out', source: 'keyword' },
    { event: 'reply_sent', source: 'help' },
    { event: 'reply_sent', source: 'opt_out_confirmation' },
  ]);
  expect((await harness.pool.query('SELECT source FROM opt_outs WHERE phone = $1', [contact])).rows).toEqual([{ source: 'keyword' }]);
}, 150_000);
