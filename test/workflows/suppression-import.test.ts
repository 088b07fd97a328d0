import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suppressionImportWorkflowId } from '../../workflows/domain/suppression-import';
import { suppressionImportProgressQuery } from '../../workflows/messages';
import { WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
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

/**
 * A list as exported by some other platform: BOM, CRLF, a header with the numbers in the second column,
 * blank and white-space lines, surrounding spaces, two duplicates and three kinds of invalid row.
 */
function messyList(numbers: [string, string, string]) {
  const [a, b, c] = numbers;
  const lines = [
    'name,Phone,notes', // 1 header
    `Ann,${a},`, // 2
    '', // 3 blank
    `Bob,   ${b}   ,called`, // 4 surrounding white space
    `Ann again,${a},dup`, // 5 duplicate of 2
    'Dan,4155550123,', // 6 not E.164 (no + and country code)
    '   ', // 7 white space only
    'Eve,,', // 8 empty
    'Fay,+1 212 000 0000,', // 9 E.164-shaped, not a valid number
    `Gus,${c},`, // 10
    'Hal,call me maybe,', // 11 not E.164
    `Bob again,${b},`, // 12 duplicate of 4
  ];
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

async function importCsv(csv: string, query = 'column=phone&recordedBy=ops%40acme.example&fileName=crm-export.csv') {
  const response = await api.inject({ method: 'POST', url: `/v1/opt-outs/import?${query}`, headers: { 'content-type': 'text/csv' }, payload: csv });
  expect(response.statusCode, response.body).toBe(202);
  return response.json() as { importId: string; workflowId: string; statusUrl: string };
}

async function finished(importId: string) {
  await harness.consent.waitForSuppressionImport(importId);
  const response = await api.inject({ method: 'GET', url: `/v1/opt-outs/imports/${importId}` });
  expect(response.statusCode).toBe(200);
  return response.json();
}

async function ledgerCount(phones: string[]): Promise<number> {
  const { rows } = await harness.pool.query('SELECT count(*)::int AS n FROM consent_ledger WHERE contact = ANY($1)', [phones]);
  return rows[0].n;
}

describe('suppression-list import', () => {
  it('a messy CSV gives the exact counts and invalid lines; every imported number is refused, and no SMS is sent', async () => {
    const numbers: [string, string, string] = [uniquePhone(), uniquePhone(), uniquePhone()];
    const [a, b, c] = numbers;
    const business = uniquePhone();
    // a has an express written consent: the import must still win. c already opted out by STOP.
    await harness.consent.recordConsent({ phone: a, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['transactional', 'promotional'] });
    await harness.consent.handleInbound(inboundText(c, business, 'STOP'));
    await waitFor(() => harness.pool.query('SELECT 1 FROM opt_outs WHERE phone = $1', [c]), (r) => r.rowCount === 1, { what: "c's STOP on the list" });

    const started = await importCsv(messyList(numbers));
    expect(started.workflowId).toBe(suppressionImportWorkflowId(started.importId));
    const report = await finished(started.importId);
    expect(report.progress).toMatchObject({ status: 'completed', rowsRead: 9, valid: 3, duplicates: 2, invalid: 4, optedOut: 2, alreadyOptedOut: 1 });
    expect(report.invalidRows).toEqual([
      { line: 6, value: '4155550123', reason: expect.stringContaining('not in E.164') },
      { line: 8, value: '', reason: 'Phone is empty' },
      { line: 9, value: '+1 212 000 0000', reason: expect.stringContaining('not a valid phone number') },
      { line: 11, value: 'call me maybe', reason: expect.stringContaining('not in E.164') },
    ]);
    expect(report.invalidRowsTotal).toBe(4);

    for (const phone of numbers) {
      for (const type of ['transactional', 'promotional', 'conversational'] as const) {
        expect(await harness.consent.canSend(phone, { from: business, type })).toMatchObject({ allowed: false, code: 'OPTED_OUT' });
      }
    }
    const list = await waitFor(
      () => harness.pool.query('SELECT phone, source, business_number, recorded_by, reference FROM opt_outs WHERE phone = ANY($1) ORDER BY phone', [numbers]),
      (result) => result.rowCount === 3,
      { what: 'the three numbers on the opt-out list' },
    );
    expect(list.rows).toEqual(
      expect.arrayContaining([
        { phone: a, source: 'suppression-import', business_number: null, recorded_by: 'ops@acme.example', reference: started.importId },
        { phone: b, source: 'suppression-import', business_number: null, recorded_by: 'ops@acme.example', reference: started.importId },
        // c keeps its own STOP: the import adds nothing to an opt-out already in force.
        { phone: c, source: 'keyword', business_number: business, recorded_by: null, reference: null },
      ]),
    );
    expect(await outboundFor(harness.pool, a)).toEqual([]);
    expect(await outboundFor(harness.pool, b)).toEqual([]);
  });

  it('importing the same file twice changes nothing the second time', async () => {
    const numbers: [string, string, string] = [uniquePhone(), uniquePhone(), uniquePhone()];
    const csv = messyList(numbers);
    const first = await finished((await importCsv(csv)).importId);
    expect(first.progress).toMatchObject({ optedOut: 3, alreadyOptedOut: 0 });
    // The actors append their opt-outs right after answering the import: wait for all three.
    const ledgerRows = await waitFor(() => ledgerCount(numbers), (n) => n === 3, { what: 'three opt-outs in the ledger' });
    const listBefore = await harness.pool.query('SELECT * FROM opt_outs WHERE phone = ANY($1) ORDER BY phone', [numbers]);

    const second = await finished((await importCsv(csv)).importId);
    expect(second.progress).toMatchObject({ status: 'completed', rowsRead: 9, valid: 3, duplicates: 2, invalid: 4, optedOut: 0, alreadyOptedOut: 3 });
    expect(await ledgerCount(numbers)).toBe(ledgerRows);
    expect((await harness.pool.query('SELECT * FROM opt_outs WHERE phone = ANY($1) ORDER BY phone', [numbers])).rows).toEqual(listBefore.rows);
  });

  it('the same import id submitted twice is one import', async () => {
    const phone = uniquePhone();
    const importId = `crm-${phone.slice(1)}`;
    const query = `recordedBy=ops&importId=${importId}`;
    const first = await importCsv(`${phone}\n`, query);
    const again = await importCsv(`${uniquePhone()}\n`, query);
    expect(again).toEqual({ ...first, created: false });
    expect((await finished(importId)).progress).toMatchObject({ rowsRead: 1, optedOut: 1 });
  });

  it('a multipart upload works like a CSV body, and its progress is a query on the workflow', async () => {
    const phones = Array.from({ length: 5 }, () => uniquePhone());
    const boundary = '----consent-test-boundary';
    const body = [
      `--${boundary}`,
      'Content-Disposition: form-data; name="recordedBy"',
      '',
      'ops@acme.example',
      `--${boundary}`,
      'Content-Disposition: form-data; name="file"; filename="list.csv"',
      'Content-Type: text/csv',
      '',
      `phone\n${phones.join('\n')}\n`,
      `--${boundary}--`,
      '',
    ].join('\r\n');
    const response = await api.inject({ method: 'POST', url: '/v1/opt-outs/import', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, payload: body });
    expect(response.statusCode, response.body).toBe(202);
    const { importId, workflowId } = response.json();
    await harness.consent.waitForSuppressionImport(importId);
    const progress = await harness.client.workflow.getHandle(workflowId).query(suppressionImportProgressQuery);
    expect(progress).toMatchObject({ status: 'completed', rowsRead: 5, optedOut: 5 });
    const list = await waitFor(() => harness.pool.query(`SELECT note FROM opt_outs WHERE phone = $1`, [phones[0]]), (r) => r.rowCount === 1);
    expect(list.rows[0].note).toBe('imported from list.csv');
  });

  it.each([
    ['a column the header does not have', 'column=mobile&recordedBy=ops', 'phone,name\n+14155550100,a\n', 'column', /"mobile" is not in the header row \("phone", "name"\)/],
    ['no recordedBy', 'column=phone', 'phone\n+14155550100\n', 'recordedBy', /is required/],
    ['an import id with a slash', 'recordedBy=ops&importId=a/b', 'phone\n', 'importId', /letters, digits/],
  ])('%s gets 400 naming the field, and no import starts', async (_case, query, csv, field, message) => {
    const before = await harness.pool.query('SELECT count(*)::int AS n FROM suppression_imports');
    const response = await api.inject({ method: 'POST', url: `/v1/opt-outs/import?${query}`, headers: { 'content-type': 'text/csv' }, payload: csv });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual([expect.objectContaining({ field, message: expect.stringMatching(message) })]);
    const after = await harness.pool.query('SELECT count(*)::int AS n FROM suppression_imports');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('an unknown import id is a 404', async () => {
    const response = await api.inject({ method: 'GET', url: '/v1/opt-outs/imports/never-submitted' });
    expect(response.statusCode).toBe(404);
  });
});
