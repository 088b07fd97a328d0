/**
 * Texts and records that once wedged their actor for good (the ledger append failed in Postgres on every attempt):
 * each now reaches its confirmation, its list row and its ledger entry, and the contact's next HELP is answered.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentLedger, SANITISED_KEY, type StorageAdjustments } from '../../activities/postgres/ledger';
import { contactWorkflow } from '../../workflows/contact';
import { contactStartOptions } from '../../workflows/contact-start';
import type { ContactState } from '../../workflows/domain/contact-state';
import { decodeOriginalText, type OriginalText } from '../../workflows/domain/storable';
import { contactStateQuery, inboundMessageSignal } from '../../workflows/messages';
import { buildTestApi, inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

let harness: Harness;
let api: FastifyInstance;
beforeAll(async () => {
  harness = await startHarness();
  api = await buildTestApi(harness);
});
afterAll(async () => {
  await api?.close();
  await harness?.stop();
});

async function ledgerRows(pool: Pool, contact: string) {
  const { rows } = await pool.query<{ event: string; occurred_at: Date; evidence: Record<string, unknown> }>(
    'SELECT event, occurred_at, evidence FROM consent_ledger WHERE contact = $1 ORDER BY id',
    [contact],
  );
  return rows;
}

async function contactState(contact: string): Promise<ContactState> {
  return harness.client.workflow.getHandle(`contact:${contact}`).query(contactStateQuery);
}

/** The whole of what a STOP owes: opted out, one confirmation, the list row, the ledger entry, nothing pending. */
async function expectStopSettled(contact: string) {
  await waitFor(
    async () => ({
      state: await contactState(contact),
      outbound: await outboundFor(harness.pool, contact),
      listed: (await harness.pool.query('SELECT 1 FROM opt_outs WHERE phone = $1', [contact])).rowCount,
    }),
    ({ state, outbound, listed }) =>
      state.optedOut &&
      state.pendingLedger.length === 0 &&
      state.pendingReplies.length === 0 &&
      listed === 1 &&
      outbound.filter((row) => row.kind === 'opt_out_confirmation' && row.status === 'sent').length === 1,
    { what: `the STOP of ${contact} confirmed, listed and recorded` },
  );
  const optOuts = (await ledgerRows(harness.pool, contact)).filter((row) => row.event === 'opt_out');
  expect(optOuts).toHaveLength(1);
  return optOuts[0]!;
}

/** Later messages are not stuck behind the poison one. */
async function expectHelpAnswered(contact: string, business: string) {
  const response = await api.inject({ method: 'POST', url: '/v1/inbound', payload: inboundText(contact, business, 'HELP') });
  expect(response.statusCode).toBe(202);
  await waitFor(() => outboundFor(harness.pool, contact), (rows) => rows.some((row) => row.kind === 'help' && row.status === 'sent'), {
    what: `the HELP of ${contact} answered`,
  });
}

describe('poison inbound texts over HTTP', () => {
  it('a STOP whose receivedAt is in year 0000 is accepted on the edge clock, with the claim kept as evidence', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const before = Date.now();
    const response = await api.inject({
      method: 'POST',
      url: '/v1/inbound',
      payload: { ...inboundText(contact, business, 'STOP'), receivedAt: '0000-01-01T00:00:00Z' },
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ receivedAtClaimed: '0000-01-01T00:00:00Z', receivedAtNote: expect.stringContaining('own clock') });
    expect(Date.parse(response.json().receivedAt)).toBeGreaterThanOrEqual(before - 1000);
    const optOut = await expectStopSettled(contact);
    expect(optOut.evidence).toMatchObject({ receivedAtClaimed: '0000-01-01T00:00:00Z' });
    expect(optOut.occurred_at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    await expectHelpAnswered(contact, business);
  });

  it.each([
    ['a UTC offset beyond ±14:00', '2026-11-30T10:00:00+23:59'],
    ['a day that does not exist', '2026-02-30T10:00:00Z'],
    ['a time a year ahead of the clock', new Date(Date.now() + 365 * 86_400_000).toISOString()],
    ['a time a year behind the clock', new Date(Date.now() - 365 * 86_400_000).toISOString()],
  ])('a STOP whose receivedAt has %s is opted out on the edge clock', async (_case, receivedAt) => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const response = await api.inject({ method: 'POST', url: '/v1/inbound', payload: { ...inboundText(contact, business, 'STOP'), receivedAt } });
    expect(response.statusCode).toBe(202);
    expect(response.json().receivedAtClaimed).toBe(receivedAt);
    await expectStopSettled(contact);
  });

  it.each([
    ['a NUL character', 'STOP\u0000', 'NUL characters replaced by U+FFFD'],
    ['a lone UTF-16 surrogate', 'STOP \uD800', 'lone UTF-16 surrogates replaced by U+FFFD'],
    ['both, in a revocation', 'please stop texting me\u0000\uDC00', 'NUL characters and lone UTF-16 surrogates replaced by U+FFFD'],
  ])('a STOP body with %s opts out, and the evidence keeps the exact original', async (_case, body, changed) => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const response = await api.inject({ method: 'POST', url: '/v1/inbound', payload: inboundText(contact, business, body) });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ bodyNormalised: changed });
    const optOut = await expectStopSettled(contact);
    expect(optOut.evidence.text).not.toMatch(/\u0000/);
    expect(decodeOriginalText(optOut.evidence.originalText as OriginalText)).toBe(body);
    await expectHelpAnswered(contact, business);
  });

  it('a HELP with a NUL character is answered, and a STOP after it too', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    expect((await api.inject({ method: 'POST', url: '/v1/inbound', payload: inboundText(contact, business, 'HELP\u0000') })).statusCode).toBe(202);
    // Answered before the STOP arrives: a HELP answer whose turn comes after a STOP is withheld, as no longer true.
    await waitFor(() => outboundFor(harness.pool, contact), (rows) => rows.some((row) => row.kind === 'help' && row.status === 'sent'), { what: 'the HELP answer' });
    expect((await api.inject({ method: 'POST', url: '/v1/inbound', payload: inboundText(contact, business, 'STOP') })).statusCode).toBe(202);
    await expectStopSettled(contact);
    expect((await outboundFor(harness.pool, contact)).filter((row) => row.kind === 'help' && row.status === 'sent')).toHaveLength(1);
  });
});

describe('message ids that collide across contacts', () => {
  it.each([
    ['the same message id', 'SM-shared-id', 'SM-shared-id'],
    ['ids that become the same stored text (NUL and a lone surrogate both become U+FFFD)', 'SM\u0000', 'SM\uD800'],
  ])('two contacts whose STOPs carry %s each get exactly one confirmation', async (_case, firstId, secondId) => {
    const business = uniquePhone();
    const [first, second] = [uniquePhone(), uniquePhone()];
    for (const [contact, messageId] of [[first, firstId], [second, secondId]] as const) {
      const response = await api.inject({ method: 'POST', url: '/v1/inbound', payload: { ...inboundText(contact, business, 'STOP'), messageId: `${messageId}${business}` } });
      expect(response.statusCode).toBe(202);
    }
    await expectStopSettled(first);
    await expectStopSettled(second);
  });
});

describe('poison operator opt-outs', () => {
  it('an operator opt-out dated in year 0000 is refused with 400 naming `at`, and nothing starts', async () => {
    const contact = uniquePhone();
    const response = await api.inject({ method: 'POST', url: '/v1/opt-outs', payload: { phone: contact, recordedBy: 'ops@acme.example', at: '0000-01-01T00:00:00Z' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual([expect.objectContaining({ field: 'at', message: expect.stringContaining('between 1990-01-01 and 2100-01-01') })]);
    expect(await ledgerRows(harness.pool, contact)).toEqual([]);
  });

  it('an operator opt-out whose note carries NUL and a lone surrogate is in force, listed and recorded', async () => {
    const contact = uniquePhone();
    const response = await api.inject({
      method: 'POST',
      url: '/v1/opt-outs',
      payload: { phone: contact, recordedBy: 'ops\u0000@acme.example', note: 'called in \uD83D', reference: 'ticket\u0000 7' },
    });
    expect(response.statusCode).toBe(200);
    await waitFor(() => harness.pool.query('SELECT recorded_by, note, reference FROM opt_outs WHERE phone = $1', [contact]), (result) => result.rowCount === 1, {
      what: 'the operator opt-out on the list',
    });
    const { rows } = await harness.pool.query('SELECT recorded_by, note, reference FROM opt_outs WHERE phone = $1', [contact]);
    expect(rows[0]).toEqual({ recorded_by: 'ops\uFFFD@acme.example', note: 'called in \uFFFD', reference: 'ticket\uFFFD 7' });
  });
});

describe('poison signals sent past the edge (temporal CLI, another service)', () => {
  it('a signalled STOP with receivedAt "0000-00-00" and a NUL body is settled by the actor itself', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    await harness.client.workflow.signalWithStart(contactWorkflow, {
      ...contactStartOptions(contact, harness.taskQueue),
      signal: inboundMessageSignal,
      signalArgs: [{ messageId: 'SM-poison-direct', from: contact, to: business, body: 'STOP\u0000', receivedAt: '0000-00-00T00:00:00Z' }],
    });
    const optOut = await expectStopSettled(contact);
    expect(optOut.evidence).toMatchObject({ receivedAtClaimed: '0000-00-00T00:00:00Z', text: 'STOP\uFFFD' });
    await expectHelpAnswered(contact, business);
  });
});

describe('the ledger stores what Postgres refuses as it is', () => {
  it('an entry with NUL in its evidence and an impossible date is stored sanitised, saying what changed, beside a clean one', async () => {
    const ledger = new ConsentLedger(harness.pool);
    const contact = uniquePhone();
    const poison = {
      key: `test:${contact}:poison`,
      contact,
      event: 'opt_out' as const,
      occurredAt: '0000-01-01T00:00:00Z',
      businessNumber: null,
      source: 'operator-recorded',
      evidence: { note: 'NUL\u0000here', nested: [{ 'key\uD800': 'fine' }] },
      workflowId: null,
      runId: null,
    };
    const clean = { ...poison, key: `test:${contact}:clean`, event: 'help_requested' as const, occurredAt: new Date().toISOString(), evidence: { note: 'ok' } };
    expect(await ledger.append([poison, clean])).toEqual({ inserted: 2, sanitised: 1 });
    const [stored, second] = await ledgerRows(harness.pool, contact);
    expect(second!.evidence).toEqual({ note: 'ok' });
    const adjustments = stored!.evidence[SANITISED_KEY] as StorageAdjustments;
    expect(adjustments.changes.map((change) => change.field)).toEqual(['occurredAt', 'evidence.note', 'evidence.nested.0.key\uFFFD']);
    expect(JSON.parse(Buffer.from(adjustments.originalEvidenceBase64!, 'base64').toString('utf8'))).toEqual(poison.evidence);
    expect(stored!.evidence.note).toBe('NUL\uFFFDhere');
    // The opt-out reached the list from the same append.
    expect((await harness.pool.query('SELECT source FROM opt_outs WHERE phone = $1', [contact])).rows).toEqual([{ source: 'operator-recorded' }]);
    // A retry of the same append stores nothing twice.
    expect(await ledger.append([poison, clean])).toEqual({ inserted: 0, sanitised: 1 });
  });

  it('an entry Postgres still refuses (an index row too large: 54000) is stored in its minimal form, the rest of the batch with it', async () => {
    const ledger = new ConsentLedger(harness.pool);
    const contact = uniquePhone();
    const huge = { key: `test:${contact}:huge`, contact: `${contact}${randomBytes(10_000).toString('hex')}`, event: 'review_flagged' as const, occurredAt: new Date().toISOString(), businessNumber: null, source: null, evidence: { text: 'x' }, workflowId: null, runId: null };
    const after = { ...huge, key: `test:${contact}:after`, contact, evidence: { text: 'after' } };
    expect(await ledger.append([huge, after])).toEqual({ inserted: 2, sanitised: 1 });
    const { rows } = await harness.pool.query<{ entry_key: string; evidence: Record<string, unknown> }>(
      'SELECT entry_key, evidence FROM consent_ledger WHERE entry_key = ANY($1) ORDER BY id',
      [[huge.key, after.key]],
    );
    expect(rows.map((row) => row.entry_key)).toEqual([huge.key, after.key]);
    const adjustments = rows[0]!.evidence[SANITISED_KEY] as StorageAdjustments;
    expect(adjustments.changes[0]!.change).toMatch(/refused by Postgres \(54000/);
    expect(JSON.parse(Buffer.from(adjustments.originalEvidenceBase64!, 'base64').toString('utf8'))).toMatchObject({ key: huge.key, evidence: { text: 'x' } });
  });
});
