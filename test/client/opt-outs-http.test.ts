import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApi, inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

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

/**
 * The contact's entry, read through the list's pages: every file of the run shares the database, and the load tests
 * put thousands of opt-outs in the last hour (the first page alone missed this file's own entries in CI).
 */
async function listEntry(phone: string) {
  return waitFor(
    async () => {
      const from = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString());
      for (let cursor: string | null = null, first = true; first || cursor; first = false) {
        const response = await api.inject({ method: 'GET', url: `/v1/opt-outs?from=${from}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}` });
        const page = response.json() as { optOuts: { phone: string }[]; nextCursor: string | null };
        const entry = page.optOuts.find((candidate) => candidate.phone === phone);
        if (entry) return entry;
        cursor = page.nextCursor;
      }
      return undefined;
    },
    (entry) => entry !== undefined,
    { what: `${phone} on the opt-out list` },
  );
}

async function addOptOut(payload: Record<string, unknown>) {
  return api.inject({ method: 'POST', url: '/v1/opt-outs', payload });
}

describe('the opt-out list', () => {
  it("shows a STOP's business number and date, and the source", async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    const text = inboundText(contact, business, 'STOP');
    await harness.consent.handleInbound(text);
    expect(await listEntry(contact)).toMatchObject({ phone: contact, businessNumber: business, optedOutAt: text.receivedAt, source: 'keyword' });
  });

  it('an operator adds an opt-out received by phone call, with who recorded it; the contact gets no SMS', async () => {
    const contact = uniquePhone();
    const response = await addOptOut({ phone: contact, recordedBy: 'agent@acme.example', note: 'asked on a call to stop texts', reference: 'call-8812' });
    // Answered once in force in the actor and on the list, not merely queued.
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ contact, status: 'in_force', outcome: 'opted_out', listed: true, optOut: { source: 'operator-recorded', reference: 'call-8812' } });
    expect(await listEntry(contact)).toMatchObject({ source: 'operator-recorded', businessNumber: null, recordedBy: 'agent@acme.example', note: 'asked on a call to stop texts', reference: 'call-8812' });
    expect(await harness.consent.canSend(contact, { from: uniquePhone(), type: 'conversational' })).toMatchObject({ code: 'OPTED_OUT' });
    const sent = await harness.pool.query('SELECT count(*)::int AS n FROM outbound_messages WHERE contact = $1', [contact]);
    expect(sent.rows[0].n).toBe(0);
  });

  it.each([
    ['no recordedBy', { phone: '+14155550100' }, 'recordedBy'],
    ['a phone that is not a number', { phone: 'nobody', recordedBy: 'agent' }, 'phone'],
  ])('an operator opt-out with %s gets 400 naming the field', async (_case, payload, field) => {
    const response = await addOptOut(payload);
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  it('filters by source and date range, and pages with a cursor without skipping or repeating', async () => {
    const from = new Date().toISOString();
    const phones = Array.from({ length: 5 }, () => uniquePhone());
    for (const phone of phones) await addOptOut({ phone, recordedBy: 'paging-test' });
    await Promise.all(phones.map(listEntry));
    const seen: { phone: string; source: string; optedOutAt: string }[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/opt-outs?source=operator-recorded&from=${encodeURIComponent(from)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await api.inject({ method: 'GET', url })).json();
      expect(page.optOuts.length).toBeLessThanOrEqual(2);
      seen.push(...page.optOuts);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((entry) => entry.phone)).toEqual(expect.arrayContaining(phones));
    expect(new Set(seen.map((entry) => entry.phone)).size).toBe(seen.length);
    expect(seen.every((entry) => entry.source === 'operator-recorded' && entry.optedOutAt >= from.slice(0, 23))).toBe(true);
    expect([...seen].sort((x, y) => x.optedOutAt.localeCompare(y.optedOutAt))).toEqual(seen);

    const before = (await api.inject({ method: 'GET', url: `/v1/opt-outs?source=operator-recorded&to=${encodeURIComponent(from)}&limit=1000` })).json();
    expect(before.optOuts.map((entry: { phone: string }) => entry.phone)).not.toEqual(expect.arrayContaining([phones[0]]));
    const keyword = (await api.inject({ method: 'GET', url: `/v1/opt-outs?source=keyword&from=${encodeURIComponent(from)}&limit=1000` })).json();
    expect(keyword.optOuts.map((entry: { phone: string }) => entry.phone)).not.toEqual(expect.arrayContaining([phones[0]]));
  });

  it('bad filters get 400 naming the field', async () => {
    for (const [query, field] of [
      ['source=email', 'source'],
      ['from=last-week', 'from'],
      ['limit=0', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
    ] as const) {
      const response = await api.inject({ method: 'GET', url: `/v1/opt-outs?${query}` });
      expect(response.statusCode, query).toBe(400);
      expect(response.json().issues).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    }
  });

  it('the CSV export round-trips: it holds what the JSON list holds, and importing it back changes nothing', async () => {
    const from = new Date().toISOString();
    const business = uniquePhone();
    const stopped = uniquePhone();
    await harness.consent.handleInbound(inboundText(stopped, business, 'STOP'));
    const recorded = uniquePhone();
    await addOptOut({ phone: recorded, recordedBy: 'agent, "front desk"', note: 'line one\nline two' });
    await Promise.all([listEntry(stopped), listEntry(recorded)]);

    const filter = `from=${encodeURIComponent(from)}&limit=1000`;
    const json = (await api.inject({ method: 'GET', url: `/v1/opt-outs?${filter}` })).json();
    const csvResponse = await api.inject({ method: 'GET', url: `/v1/opt-outs?${filter}&format=csv` });
    expect(csvResponse.statusCode).toBe(200);
    expect(csvResponse.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parse(csvResponse.body, { columns: true }) as Record<string, string>[];
    const expected = json.optOuts.map((entry: Record<string, string | null>) => ({
      phone: entry.phone,
      optedOutAt: entry.optedOutAt,
      businessNumber: entry.businessNumber ?? '',
      source: entry.source,
      recordedBy: entry.recordedBy ?? '',
      reference: entry.reference ?? '',
      note: entry.note ?? '',
    }));
    expect(rows).toEqual(expected);
    expect(rows).toEqual(expect.arrayContaining([expect.objectContaining({ phone: recorded, recordedBy: 'agent, "front desk"', note: 'line one\nline two' })]));

    const started = await api.inject({ method: 'POST', url: '/v1/opt-outs/import?recordedBy=round-trip', headers: { 'content-type': 'text/csv' }, payload: csvResponse.body });
    expect(started.statusCode).toBe(202);
    const progress = await harness.consent.waitForSuppressionImport(started.json().importId);
    expect(progress).toMatchObject({ status: 'completed', rowsRead: rows.length, invalid: 0, optedOut: 0, alreadyOptedOut: rows.length });
  });

  it.each(['DELETE', 'PUT', 'PATCH'] as const)('%s of an opt-out is refused with 405 and the reason, and the opt-out stays', async (method) => {
    const contact = uniquePhone();
    await addOptOut({ phone: contact, recordedBy: 'agent' });
    await listEntry(contact);
    const response = await api.inject({ method, url: `/v1/opt-outs/${encodeURIComponent(contact)}` });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('GET, POST');
    expect(response.json().reason).toMatch(/only the contact's own START/);
    expect(await harness.consent.canSend(contact, { from: uniquePhone(), type: 'conversational' })).toMatchObject({ code: 'OPTED_OUT' });
  });

  it('DELETE of the whole list is refused too', async () => {
    const response = await api.inject({ method: 'DELETE', url: '/v1/opt-outs' });
    expect(response.statusCode).toBe(405);
  });
});

describe('GET /v1/contacts/:phone/history', () => {
  it("answers from the ledger, in pages, why the contact's sends are refused", async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
    await harness.consent.handleInbound(inboundText(contact, business, 'HELP'));
    await harness.consent.sendMessage({ to: contact, from: business, body: 'Sale today!', type: 'promotional' });
    const all = await waitFor(
      async () => (await api.inject({ method: 'GET', url: `/v1/contacts/${encodeURIComponent(contact)}/history` })).json(),
      (page) => page.entries.length >= 5,
      { what: 'STOP, HELP, two replies and the refusal in the ledger' },
    );
    expect(all.entries.map((entry: { event: string }) => entry.event).sort()).toEqual(['help_requested', 'opt_out', 'reply_sent', 'reply_sent', 'send_refused']);
    const firstPage = (await api.inject({ method: 'GET', url: `/v1/contacts/${encodeURIComponent(contact)}/history?limit=2` })).json();
    expect(firstPage.entries).toEqual(all.entries.slice(0, 2));
    const secondPage = (await api.inject({ method: 'GET', url: `/v1/contacts/${encodeURIComponent(contact)}/history?limit=2&after=${firstPage.next}` })).json();
    expect(secondPage.entries).toEqual(all.entries.slice(2, 4));
  });
});
