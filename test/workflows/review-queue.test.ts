/**
 * The review queue (issue 16, item 1): a look-alike text raises a flag; an operator resolves it as an opt-out
 * (operator-recorded, with who decided) or not one (closed, with who and why); NeedsReview then counts open flags only.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needsReviewAttribute } from '../../workflows/search-attributes';
import { COMPLIANT_FIRST, WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
import { buildTestApi, inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

const run = promisify(execFile);
const BIN = path.join(__dirname, '..', '..', 'client', 'cli', 'bin.cjs');

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

async function flagged(contact: string, business: string, text = 'We have got to STOP this bill') {
  const message = inboundText(contact, business, text);
  await harness.consent.handleInbound(message);
  await waitFor(() => harness.consent.getContactState(contact), (state) => state.reviewFlags.length > 0, { what: 'the review flag' });
  return message;
}

async function needsReview(contact: string): Promise<boolean | undefined> {
  const description = await harness.client.workflow.getHandle(`contact:${contact}`).describe();
  return description.typedSearchAttributes.get(needsReviewAttribute);
}

async function ledger(contact: string, event: string) {
  const { rows } = await harness.pool.query(`SELECT source, evidence FROM consent_ledger WHERE contact = $1 AND event = $2 ORDER BY id`, [contact, event]);
  return rows as { source: string | null; evidence: Record<string, unknown> }[];
}

async function texts(contact: string): Promise<string[]> {
  const { rows } = await harness.pool.query(`SELECT body FROM sandbox_messages WHERE to_number = $1 ORDER BY created_at`, [contact]);
  return rows.map((row: { body: string }) => row.body);
}

describe('the review queue', () => {
  it('GET /v1/reviews lists the contacts with open flags, with the flagged texts', async () => {
    const contact = uniquePhone();
    const message = await flagged(contact, uniquePhone());
    const listed = await waitFor(
      async () => (await api.inject({ method: 'GET', url: '/v1/reviews' })).json(),
      (body) => body.reviews.some((entry: { contact: string }) => entry.contact === contact),
      { what: 'the contact in the review queue' },
    );
    const entry = listed.reviews.find((review: { contact: string }) => review.contact === contact);
    expect(entry.flags).toEqual([expect.objectContaining({ messageId: message.messageId, body: 'We have got to STOP this bill', matched: 'STOP' })]);
    expect(await needsReview(contact)).toBe(true);
  });

  it('not_an_opt_out closes the flag, records who and why, and changes nothing else; NeedsReview goes back to false', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await harness.consent.recordConsent({ phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['transactional'] });
    const message = await flagged(contact, business);
    const response = await api.inject({ method: 'POST', url: `/v1/reviews/${encodeURIComponent(contact)}/resolve`, payload: { messageId: message.messageId, decision: 'not_an_opt_out', decidedBy: 'ana@acme.example', why: 'talking about a bill' } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ outcome: 'resolved', decision: 'not_an_opt_out', optOut: null, openFlags: 0 });
    await waitFor(() => needsReview(contact), (value) => value === false, { what: 'NeedsReview false' });
    const [resolved] = await waitFor(() => ledger(contact, 'review_resolved'), (rows) => rows.length === 1, { what: 'the resolution in the ledger' });
    expect(resolved).toMatchObject({ source: 'not_an_opt_out', evidence: { messageId: message.messageId, flaggedText: 'We have got to STOP this bill', decidedBy: 'ana@acme.example', why: 'talking about a bill' } });
    expect(await harness.consent.sendMessage({ to: contact, from: business, body: COMPLIANT_FIRST, type: 'transactional' })).toMatchObject({ status: 'sent' });
    // The same flag again: nothing left to resolve.
    const again = await api.inject({ method: 'POST', url: `/v1/reviews/${encodeURIComponent(contact)}/resolve`, payload: { messageId: message.messageId, decision: 'opt_out', decidedBy: 'bo@acme.example' } });
    expect(again.json()).toMatchObject({ outcome: 'not_found', optOut: null });
    expect((await harness.consent.getContactState(contact)).optedOut).toBe(false);
  });

  it('opt_out records an operator-recorded opt-out carrying the flagged text and who decided, confirmed once on that thread', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    const message = await flagged(contact, business, 'I want to stop');
    const resolution = await harness.consent.resolveReview({ phone: contact, messageId: message.messageId, decision: 'opt_out', decidedBy: 'ana@acme.example', why: 'reads as a revocation' });
    expect(resolution).toMatchObject({ outcome: 'resolved', optOut: { source: 'operator-recorded', recordedBy: 'ana@acme.example', text: 'I want to stop', messageId: message.messageId, businessNumber: business } });
    expect(await harness.consent.canSend(contact, { from: uniquePhone(), type: 'conversational' })).toMatchObject({ code: 'OPTED_OUT' });
    const [optOut] = await waitFor(() => ledger(contact, 'opt_out'), (rows) => rows.length === 1, { what: 'the opt-out in the ledger' });
    expect(optOut).toMatchObject({ source: 'operator-recorded', evidence: { recordedBy: 'ana@acme.example', text: 'I want to stop', decidedOnReview: true } });
    await waitFor(() => texts(contact), (bodies) => bodies.length === 1, { what: 'the confirmation' });
    expect((await texts(contact))[0]).toContain('unsubscribed');
    await waitFor(() => needsReview(contact), (value) => value === false, { what: 'NeedsReview false' });
    const { rows } = await harness.pool.query(`SELECT source, recorded_by FROM opt_outs WHERE phone = $1`, [contact]);
    expect(rows).toEqual([{ source: 'operator-recorded', recorded_by: 'ana@acme.example' }]);
  });

  it('not_an_opt_out never lifts an opt-out, and a bad decision is a 400 naming the field', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
    const message = await flagged(contact, business, 'Yes, see you then');
    expect(await harness.consent.resolveReview({ phone: contact, messageId: message.messageId, decision: 'not_an_opt_out', decidedBy: 'bo@acme.example' })).toMatchObject({ outcome: 'resolved', optOut: { source: 'keyword' } });
    expect((await harness.consent.getContactState(contact)).optedOut).toBe(true);
    const bad = await api.inject({ method: 'POST', url: `/v1/reviews/${encodeURIComponent(contact)}/resolve`, payload: { messageId: message.messageId, decision: 'lift_opt_out', decidedBy: 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json())).toContain('decision');
    const unknown = await api.inject({ method: 'POST', url: `/v1/reviews/${encodeURIComponent(uniquePhone())}/resolve`, payload: { messageId: 'SM1', decision: 'opt_out', decidedBy: 'x' } });
    expect(unknown.statusCode).toBe(404);
  });

  it('the CLI lists the queue (`reviews`) and resolves a flag (`resolve`)', async () => {
    const contact = uniquePhone();
    const message = await flagged(contact, uniquePhone(), 'Stop by our office Monday');
    const env = { ...process.env, TEMPORAL_ADDRESS: harness.temporalAddress, DATABASE_URL: harness.databaseUrl, TEMPORAL_TASK_QUEUE: harness.taskQueue };
    const listed = await waitFor(
      async () => (await run(process.execPath, [BIN, 'reviews', '--json'], { env, timeout: 60_000 })).stdout,
      (stdout) => stdout.includes(message.messageId),
      { timeoutMs: 60_000, what: 'the flag in `reviews`' },
    );
    expect(JSON.parse(listed).reviews.find((entry: { contact: string }) => entry.contact === contact).flags[0].body).toBe('Stop by our office Monday');
    const { stdout } = await run(process.execPath, [BIN, 'resolve', contact, message.messageId, '--decision', 'not_an_opt_out', '--decided-by', 'cli@acme.example', '--why', 'an invitation'], { env, timeout: 60_000 });
    expect(JSON.parse(stdout)).toMatchObject({ outcome: 'resolved', decision: 'not_an_opt_out' });
    expect((await harness.consent.getContactState(contact)).reviewFlags).toEqual([]);
  });
});
