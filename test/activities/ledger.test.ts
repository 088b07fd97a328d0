import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentLedger } from '../../activities/postgres/ledger';
import { contactWorkflowId } from '../../workflows/contact-start';
import { COMPLIANT_FIRST, WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
import { inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { interceptCheckedOutQueries } from '../support/pool-faults';

/**
 * The worker's pool, except that the first ledger COMMIT succeeds and then reports a lost connection: the append
 * is stored, but the activity sees a failure and Temporal retries it (the worst case for duplicates).
 */
let commitsFailedAfterWrite = 0;
function failFirstLedgerCommitAfterWrite(pool: Pool): Pool {
  let armed = true;
  return interceptCheckedOutQueries(pool, () => {
    let wroteLedger = false;
    return async (text, run) => {
      const result = await run();
      if (typeof text === 'string' && text.includes('INSERT INTO consent_ledger')) wroteLedger = true;
      if (armed && wroteLedger && text === 'COMMIT') {
        armed = false;
        commitsFailedAfterWrite += 1;
        throw new Error('connection terminated unexpectedly (injected after COMMIT)');
      }
      return result;
    };
  });
}

let harness: Harness;
let ledger: ConsentLedger;
beforeAll(async () => {
  harness = await startHarness({ wrapWorkerPool: failFirstLedgerCommitAfterWrite });
  ledger = new ConsentLedger(harness.pool);
});
afterAll(async () => {
  await harness?.stop();
});

async function ledgerEvents(contact: string): Promise<string[]> {
  const { entries } = await harness.consent.getContactHistory(contact);
  return entries.map((entry) => entry.event);
}

describe('the ledger is append-only in the database', () => {
  it('an UPDATE, a DELETE and a TRUNCATE on the ledger all fail in Postgres, and the row is unchanged', async () => {
    const contact = uniquePhone();
    await ledger.append([
      { key: `test:${contact}:1`, contact, event: 'opt_out', occurredAt: new Date().toISOString(), businessNumber: null, source: 'operator-recorded', evidence: { note: 'original' }, workflowId: null, runId: null },
    ]);
    await expect(harness.pool.query(`UPDATE consent_ledger SET evidence = '{"note":"rewritten"}' WHERE contact = $1`, [contact])).rejects.toThrow(
      /append-only: UPDATE/,
    );
    await expect(harness.pool.query('DELETE FROM consent_ledger WHERE contact = $1', [contact])).rejects.toThrow(/append-only: DELETE/);
    await expect(harness.pool.query('TRUNCATE consent_ledger')).rejects.toThrow(/append-only: TRUNCATE/);
    const { rows } = await harness.pool.query('SELECT evidence FROM consent_ledger WHERE contact = $1', [contact]);
    expect(rows).toEqual([{ evidence: { note: 'original' } }]);
  });

  it('appending the same entries again (a retry) stores nothing twice', async () => {
    const contact = uniquePhone();
    const entry = { key: `test:${contact}:1`, contact, event: 'help_requested' as const, occurredAt: new Date().toISOString(), businessNumber: null, source: null, evidence: {}, workflowId: null, runId: null };
    expect(await ledger.append([entry])).toEqual({ inserted: 1, sanitised: 0 });
    expect(await ledger.append([entry])).toEqual({ inserted: 0, sanitised: 0 });
    expect(await ledgerEvents(contact)).toEqual(['help_requested']);
  });
});

describe('the actor writes its evidence', () => {
  it('a ledger append retried by Temporal after its commit leaves one row per event', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
    await waitFor(() => ledgerEvents(contact), (events) => events.includes('reply_sent'), { what: 'the STOP and its confirmation in the ledger' });
    expect(commitsFailedAfterWrite).toBe(1);
    expect(await ledgerEvents(contact)).toEqual(['opt_out', 'reply_sent']);
    const { rows } = await harness.pool.query('SELECT count(*)::int AS n FROM opt_outs WHERE phone = $1', [contact]);
    expect(rows[0].n).toBe(1);
  });

  it('the history says why a send was allowed and why a later one was refused, with the workflow and run to open', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['transactional'] });
    const sent = await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional' });
    expect(sent.status).toBe('sent');
    await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
    const refused = await harness.consent.sendMessage({ to: contact, from: business, body: 'Your cleaning is tomorrow.', type: 'transactional' });
    expect(refused).toMatchObject({ status: 'refused', code: 'OPTED_OUT' });

    const events = await waitFor(() => ledgerEvents(contact), (seen) => seen.length >= 5, { what: 'five ledger entries' });
    // In the order they happened; the confirmation and the refused send race each other after the STOP.
    expect(events.slice(0, 3)).toEqual(['consent_recorded', 'message_sent', 'opt_out']);
    expect(events.slice(3).sort()).toEqual(['reply_sent', 'send_refused']);
    const { entries } = await harness.consent.getContactHistory(contact);
    const byEvent = Object.fromEntries(entries.map((entry) => [entry.event, entry]));
    expect(byEvent.consent_recorded).toMatchObject({ source: 'web_form', evidence: { type: 'express_written', evidence: { formUrl: WEB_FORM_EVIDENCE.formUrl, ipAddress: '203.0.113.7' } } });
    expect(byEvent.message_sent).toMatchObject({ businessNumber: business, evidence: { allowedBecause: expect.stringContaining('express_written consent (web_form') } });
    expect(byEvent.opt_out).toMatchObject({ businessNumber: business, source: 'keyword', evidence: { text: 'STOP' } });
    expect(byEvent.send_refused).toMatchObject({ source: 'OPTED_OUT', evidence: { reason: expect.stringContaining('opted out') } });
    const { runId } = await harness.client.workflow.getHandle(contactWorkflowId(contact)).describe();
    expect(byEvent.opt_out).toMatchObject({ workflowId: contactWorkflowId(contact), runId });
    expect(byEvent.message_sent!.workflowId).toBe(sent.workflowId);
  });

  it('a refusal for a contact the engine never heard of is in the ledger too', async () => {
    const contact = uniquePhone();
    const refused = await harness.consent.sendMessage({ to: contact, from: uniquePhone(), body: COMPLIANT_FIRST, type: 'promotional' });
    expect(refused).toMatchObject({ status: 'refused', code: 'NO_CONSENT' });
    const { entries } = await harness.consent.getContactHistory(contact);
    expect(entries).toEqual([expect.objectContaining({ event: 'send_refused', source: 'NO_CONSENT' })]);
  });
});

describe('an opt-out survives the end of its actor', () => {
  it('a terminated contact actor starts again opted out, from the opt-out list, and only START lifts it', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
    await waitFor(() => harness.pool.query('SELECT 1 FROM opt_outs WHERE phone = $1', [contact]), (r) => r.rowCount === 1, { what: 'the opt-out on the list' });
    await harness.client.workflow.getHandle(contactWorkflowId(contact)).terminate('operator closed the actor by mistake');

    // The next event starts a new run with an empty state: it must read the opt-out back before answering.
    await harness.consent.handleInbound(inboundText(contact, business, 'what time do you open?'));
    const decision = await harness.consent.canSend(contact, { from: uniquePhone(), type: 'conversational' });
    expect(decision).toMatchObject({ allowed: false, code: 'OPTED_OUT' });
    const state = await harness.consent.getContactState(contact);
    expect(state.optOut).toMatchObject({ source: 'keyword', businessNumber: business });
    await waitFor(() => ledgerEvents(contact), (events) => events.includes('opt_out_restored'), { what: 'the restore in the ledger' });

    await harness.consent.handleInbound(inboundText(contact, business, 'START'));
    await waitFor(() => harness.pool.query('SELECT 1 FROM opt_outs WHERE phone = $1', [contact]), (r) => r.rowCount === 0, { what: 'START to take it off the list' });
    expect(await ledgerEvents(contact)).toEqual(expect.arrayContaining(['opt_out', 'opt_out_restored', 'resubscribe']));
  });

  it('a send to a number on the list whose actor no longer exists is refused OPTED_OUT, not just NO_CONSENT', async () => {
    const contact = uniquePhone();
    // As left behind by an actor whose closed run has passed Temporal's retention.
    await ledger.append([
      { key: `test:${contact}:gone`, contact, event: 'opt_out', occurredAt: '2025-01-02T03:04:05.000Z', businessNumber: null, source: 'operator-recorded', evidence: { recordedBy: 'agent@example.com' }, workflowId: null, runId: null },
    ]);
    const refused = await harness.consent.sendMessage({ to: contact, from: uniquePhone(), body: COMPLIANT_FIRST, type: 'conversational' });
    expect(refused).toMatchObject({ status: 'refused', code: 'OPTED_OUT', reason: expect.stringContaining('2025-01-02T03:04:05.000Z') });
  });
});
