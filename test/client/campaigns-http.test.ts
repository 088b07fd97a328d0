/**
 * The campaign routes through the real API (inject, no socket), the real worker, Temporal and Postgres; and the
 * `sms-consent campaign` command, which drives the same client library, in its own process.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignClient } from '../../client/campaigns';
import { buildApiServer } from '../../client/http/server';
import { WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
import { buildTestApi, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

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

function distinctPhones(count: number): string[] {
  const phones = new Set<string>();
  while (phones.size < count) phones.add(uniquePhone());
  return [...phones];
}

async function consentToPromotions(phones: string[]): Promise<void> {
  await Promise.all(phones.map((phone) => harness.consent.recordConsent({ phone, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['promotional'] })));
}

const BOUNDARY = 'campaign-test-boundary';
/** A multipart body: form fields, then the file. */
function multipart(fields: [string, string][], file?: { content: string; filename?: string }) {
  const parts = fields.map(([name, value]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  if (file) parts.push(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${file.filename ?? 'recipients.csv'}"\r\nContent-Type: text/csv\r\n\r\n${file.content}\r\n`);
  return { headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, payload: `${parts.join('')}--${BOUNDARY}--\r\n` };
}

const post = (url: string, payload?: object) => api.inject({ method: 'POST', url, ...(payload ? { payload } : {}) });
const get = (url: string) => api.inject({ method: 'GET', url });

async function finished(campaignId: string) {
  return waitFor(async () => (await get(`/v1/campaigns/${campaignId}`)).json(), (campaign) => campaign.status === 'completed' || campaign.status === 'cancelled', {
    timeoutMs: 60_000,
    intervalMs: 200,
    what: `campaign ${campaignId} to finish`,
  });
}

describe('POST /v1/campaigns', () => {
  it('JSON: 202 with the ids; the counts and each outcome are readable, invalid rows by position with the reason', async () => {
    const [ann, bob] = distinctPhones(2);
    await consentToPromotions([ann!]);
    const response = await post('/v1/campaigns', {
      from: uniquePhone(),
      type: 'promotional',
      body: 'Hi {{name}}: 20% off this week.',
      appendDisclosures: true,
      recipients: [{ to: ann, variables: { name: 'Ann' } }, { to: bob, variables: { name: 'Bob' } }, { to: 'not a number', variables: { name: 'X' } }, { to: uniquePhone(), variables: {} }],
    });
    expect(response.statusCode).toBe(202);
    const created = response.json();
    expect(created).toMatchObject({ campaignId: expect.any(String), workflowId: `campaign:${created.campaignId}`, created: true, counts: { total: 4, invalid: 2 } });
    expect(created.invalidRows).toEqual([
      { line: 3, value: 'not a number', reason: 'to: "not a number" is not a phone number' },
      { line: 4, value: expect.any(String), reason: 'missing variable "name" (the body uses {{name}})' },
    ]);
    const campaign = await finished(created.campaignId);
    expect(campaign).toMatchObject({
      status: 'completed',
      type: 'promotional',
      counts: { total: 4, sent: 1, refused: 1, failed: 0, unknown: 0, pending: 0, cancelled: 0, invalid: 2, refusedByCode: { NO_CONSENT: 1 } },
    });
    const page = (await get(`/v1/campaigns/${created.campaignId}/recipients`)).json();
    expect(page.recipients.map(({ line, to, status, code }: Record<string, unknown>) => ({ line, to, status, code }))).toEqual([
      { line: 1, to: ann, status: 'sent', code: null },
      { line: 2, to: bob, status: 'refused', code: 'NO_CONSENT' },
      { line: 3, to: null, status: 'invalid', code: null },
      { line: 4, to: expect.any(String), status: 'invalid', code: null },
    ]);
    expect(page.recipients[0]).toMatchObject({ providerMessageId: expect.stringMatching(/^SB/), outboundMessageId: expect.any(String), decidedAt: expect.any(String) });
    expect(page.nextCursor).toBeNull();
  });

  it('CSV upload: the file lines number the rows, columns are variables, from is repeated, and the same campaignId twice is one campaign', async () => {
    const [ann, bob, cat] = distinctPhones(3);
    await consentToPromotions([ann!, bob!, cat!]);
    const [first, second] = distinctPhones(2);
    const campaignId = `csv-${randomUUID()}`;
    const csv = ['\uFEFFPhone,name,city', `${ann},Ann,Boston`, '', `${bob},Bob,`, '12,Zed,Nowhere', `${cat},,Denver`, `"${ann}",Ann again,Boston`, `${cat},Cat,Denver`].join('\r\n');
    const upload = () =>
      api.inject({
        method: 'POST',
        url: '/v1/campaigns',
        ...multipart(
          [['from', first!], ['from', second!], ['type', 'promotional'], ['body', 'Hi {{name}}, our {{city}} store opens Monday.'], ['appendDisclosures', 'true'], ['campaignId', campaignId], ['ratePerSecond', '20']],
          { content: csv, filename: 'spring.csv' },
        ),
      });
    const response = await upload();
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ campaignId, created: true, counts: { total: 6, invalid: 4, pending: 2 } });
    expect(response.json().invalidRows.map(({ line, reason }: { line: number; reason: string }) => [line, reason])).toEqual([
      [4, 'missing variable "city" (the body uses {{city}})'],
      [5, 'to: "12" is not a valid number (US)'],
      [6, 'missing variable "name" (the body uses {{name}})'],
      [7, `${ann} is a duplicate of line 2: it gets one message`],
    ]);
    const again = await upload();
    expect(again.statusCode).toBe(202);
    expect(again.json()).toMatchObject({ campaignId, created: false });

    const campaign = await finished(campaignId);
    expect(campaign).toMatchObject({ fromNumbers: [first, second], fileName: 'spring.csv', ratePerSecond: 20, counts: { total: 6, sent: 2, invalid: 4, cancelled: 0 } });
    // Line 8 (Cat's second row) is the second valid one: the second business number.
    const sent = (await get(`/v1/campaigns/${campaignId}/recipients?status=sent`)).json().recipients;
    expect(sent.map(({ line, to, from }: Record<string, unknown>) => ({ line, to, from }))).toEqual([
      { line: 2, to: ann, from: first },
      { line: 8, to: cat, from: second },
    ]);
    const { rows } = await harness.pool.query(`SELECT body FROM sandbox_messages WHERE idempotency_key = $1`, [`campaign:${campaignId}:2`]);
    expect(rows[0].body).toMatch(/^Hi Ann, our Boston store opens Monday\./);
  });
});

describe('bad input is a 400 naming the field, and nothing starts', () => {
  const valid = () => ({ from: uniquePhone(), type: 'transactional', body: 'Your order shipped.', recipients: [{ to: uniquePhone() }] });
  it.each([
    ['from', { from: '12345' }, 'not a valid number'],
    ['from', { from: [] }, 'at least one business number'],
    ['from.1', { from: ['+14155550100', 'nope'] }, '"nope" is not a phone number'],
    ['from', { from: ['+14155550100', '(415) 555-0100'] }, 'must not repeat a number'],
    ['type', { type: 'marketing' }, ''],
    ['body', { body: '' }, 'must not be empty'],
    ['ratePerSecond', { ratePerSecond: 0 }, 'more than 0'],
    ['ratePerSecond', { ratePerSecond: 5000 }, 'at most 1000'],
    ['startAt', { startAt: 'tomorrow' }, ''],
    ['campaignId', { campaignId: 'has spaces' }, 'letters, digits'],
    ['recipients', { recipients: [] }, 'at least one recipient'],
    ['recipients', { recipients: [{ to: 'nope' }, { to: '' }] }, 'no recipient can be sent to (2 invalid): line 1: to: "nope" is not a phone number; line 2: to: must not be empty'],
    ['program', { program: 'never-declared' }, 'is not declared'],
  ])('%s: %j', async (field, change, message) => {
    const campaignId = `bad-${randomUUID()}`;
    const response = await post('/v1/campaigns', { ...valid(), campaignId: field === 'campaignId' ? undefined : campaignId, ...change });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_request', issues: [expect.objectContaining({ field, message: expect.stringContaining(message) })] });
    expect((await get(`/v1/campaigns/${campaignId}`)).statusCode).toBe(404);
  });

  it('a multipart upload without a file, or whose file has no number column, or whose options are wrong', async () => {
    const fields: [string, string][] = [['from', uniquePhone()], ['type', 'transactional'], ['body', 'Hello {{name}}']];
    const noFile = await api.inject({ method: 'POST', url: '/v1/campaigns', ...multipart(fields) });
    expect(noFile.statusCode).toBe(400);
    expect(noFile.json().issues).toEqual([{ field: 'file', message: expect.stringContaining('multipart field "file"') }]);
    const noColumn = await api.inject({ method: 'POST', url: '/v1/campaigns', ...multipart(fields, { content: `mobile,name\n${uniquePhone()},Ann\n` }) });
    expect(noColumn.statusCode).toBe(400);
    expect(noColumn.json().issues).toEqual([{ field: 'file', message: expect.stringContaining('neither "to" nor "phone" is in the header row ("mobile", "name")') }]);
    const byColumn = await api.inject({ method: 'POST', url: '/v1/campaigns', ...multipart([...fields, ['column', 'cell']], { content: `mobile,name\n${uniquePhone()},Ann\n` }) });
    expect(byColumn.json().issues).toEqual([{ field: 'column', message: expect.stringContaining('"cell" is in the header row') }]);
    const badRate = await api.inject({ method: 'POST', url: '/v1/campaigns', ...multipart([...fields, ['ratePerSecond', 'fast']], { content: `to,name\n${uniquePhone()},Ann\n` }) });
    expect(badRate.json().issues).toEqual([expect.objectContaining({ field: 'ratePerSecond' })]);
    const binary = await api.inject({ method: 'POST', url: '/v1/campaigns', ...multipart(fields, { content: 'to,name\n\u0000\u0000' }) });
    expect(binary.json().issues).toEqual([{ field: 'file', message: expect.stringContaining('NUL byte') }]);
  });

  it('a recipients page with a cursor it did not return, or a bad status', async () => {
    const created = (await post('/v1/campaigns', { ...valid(), startAt: new Date(Date.now() + 3_600_000).toISOString() })).json();
    for (const [query, field] of [['cursor=abc', 'cursor'], ['status=lost', 'status'], ['limit=0', 'limit']]) {
      const response = await get(`/v1/campaigns/${created.campaignId}/recipients?${query}`);
      expect(response.statusCode).toBe(400);
      expect(response.json().issues).toEqual([expect.objectContaining({ field })]);
    }
    await post(`/v1/campaigns/${created.campaignId}/cancel`);
  });
});

describe('unknown campaigns', () => {
  it('are 404 on every route; an id that cannot be one is 400', async () => {
    const id = `never-${randomUUID()}`;
    for (const response of [
      await get(`/v1/campaigns/${id}`),
      await get(`/v1/campaigns/${id}/recipients`),
      await get(`/v1/campaigns/${id}/recipients?format=csv`),
      await post(`/v1/campaigns/${id}/pause`),
      await post(`/v1/campaigns/${id}/resume`),
      await post(`/v1/campaigns/${id}/cancel`),
    ]) {
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ error: 'not_found', message: `no campaign ${id}` });
    }
    const bad = await get(`/v1/campaigns/${encodeURIComponent('a b')}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues).toEqual([expect.objectContaining({ field: 'campaignId' })]);
  });
});

describe('pause, resume, cancel', () => {
  it('answer with the campaign in its new state; a finished campaign cannot be paused (409)', async () => {
    const phones = distinctPhones(12);
    await consentToPromotions(phones);
    const created = (await post('/v1/campaigns', { from: uniquePhone(), type: 'promotional', body: 'Sale: 20% off.', appendDisclosures: true, ratePerSecond: 3, recipients: phones.map((to) => ({ to })) })).json();
    await waitFor(async () => (await get(`/v1/campaigns/${created.campaignId}`)).json().counts.sent, (sent: number) => sent >= 1, { what: 'a first send' });
    const paused = await post(`/v1/campaigns/${created.campaignId}/pause`);
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ campaignId: created.campaignId, status: 'paused' });
    expect((await get(`/v1/campaigns/${created.campaignId}`)).json().status).toBe('paused');
    expect((await post(`/v1/campaigns/${created.campaignId}/resume`)).json().status).toBe('running');
    const cancelled = (await post(`/v1/campaigns/${created.campaignId}/cancel`)).json();
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.counts.pending).toBe(0);
    expect(cancelled.counts.sent + cancelled.counts.cancelled).toBe(12);
    const again = await post(`/v1/campaigns/${created.campaignId}/pause`);
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toContain('cancelled: it cannot be paused');
  });
});

describe('recipients: pages and CSV', () => {
  it('pages in line order with a cursor, and the CSV export holds every row the pages hold', async () => {
    const phones = distinctPhones(7);
    // Scheduled an hour ahead: pending rows to page through, nothing sent.
    const created = (await post('/v1/campaigns', { from: uniquePhone(), type: 'transactional', body: 'Your order shipped.', startAt: new Date(Date.now() + 3_600_000).toISOString(), recipients: [...phones.map((to) => ({ to })), { to: 'x' }] })).json();
    expect(created.status).toBe('scheduled');
    const lines: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { recipients: { line: number }[]; nextCursor: string | null } = (await get(`/v1/campaigns/${created.campaignId}/recipients?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).json();
      expect(page.recipients.length).toBeLessThanOrEqual(3);
      lines.push(...page.recipients.map((recipient) => recipient.line));
      cursor = page.nextCursor;
    } while (cursor);
    expect(lines).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    const csv = await get(`/v1/campaigns/${created.campaignId}/recipients?format=csv`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const rows = parseCsv(csv.body, { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => [Number(row.line), row.to, row.status])).toEqual([...phones.map((phone, index) => [index + 1, phone, 'pending']), [8, '', 'invalid']]);
    expect(Object.keys(rows[0]!)).toEqual(['line', 'to', 'from', 'status', 'code', 'reason', 'outboundMessageId', 'providerMessageId', 'decidedAt', 'value', 'heldUntil']);
    expect((await get(`/v1/campaigns/${created.campaignId}/recipients?format=csv&status=invalid`)).body.trim().split('\n')).toHaveLength(2);
    await post(`/v1/campaigns/${created.campaignId}/cancel`);
  });

  it('a CSV export whose database fails midway ends that response (logged), and the API serves the next request', async () => {
    const phones = distinctPhones(5001);
    const created = (await post('/v1/campaigns', { from: uniquePhone(), type: 'transactional', body: 'Your order shipped.', startAt: new Date(Date.now() + 3_600_000).toISOString(), recipients: phones.map((to) => ({ to })) })).json();
    expect(created.counts.total).toBe(5001);
    const server = await apiWithCampaignPool(failingRecipientsPool(harness.pool, (call) => call === 2));
    try {
      const answer = await server
        .inject({ method: 'GET', url: `/v1/campaigns/${created.campaignId}/recipients?format=csv` })
        .then((response) => ({ status: response.statusCode, lines: response.body.split('\n').filter(Boolean).length }))
        .catch((error: unknown) => ({ status: 'aborted', error: String(error) }));
      if ('lines' in answer) {
        expect(answer.status).toBe(200);
        expect(answer.lines).toBeLessThan(5002);
      } else {
        expect(answer.status).toBe('aborted');
      }
      const next = await server.inject({ method: 'GET', url: `/v1/campaigns/${created.campaignId}/recipients?limit=1` });
      expect(next.statusCode).toBe(200);
    } finally {
      await server.close();
    }
    await post(`/v1/campaigns/${created.campaignId}/cancel`);
  }, 120_000);
});

describe('access', () => {
  it('the campaign routes need an API key when keys are set', async () => {
    const keyed = await buildTestApi(harness, harness.taskQueue, { apiKeys: ['campaign-test-key'] });
    try {
      const without = await keyed.inject({ method: 'GET', url: `/v1/campaigns/any` });
      expect(without.statusCode).toBe(401);
      const create = await keyed.inject({ method: 'POST', url: '/v1/campaigns', payload: { from: uniquePhone(), type: 'transactional', body: 'x', recipients: [{ to: uniquePhone() }] } });
      expect(create.statusCode).toBe(401);
      const withKey = await keyed.inject({ method: 'GET', url: `/v1/campaigns/any`, headers: { authorization: 'Bearer campaign-test-key' } });
      expect(withKey.statusCode).toBe(404);
    } finally {
      await keyed.close();
    }
  });
});

describe('sms-consent campaign', () => {
  const BIN = path.join(__dirname, '..', '..', 'client', 'cli', 'bin.cjs');
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
        env: { ...process.env, TEMPORAL_ADDRESS: harness.temporalAddress, DATABASE_URL: harness.databaseUrl, TEMPORAL_TASK_QUEUE: harness.taskQueue, DATA_DIR: os.tmpdir() },
        timeout: 120_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it('create --csv waits with a progress bar and prints the counts; status, recipients and pause answer for it; bad arguments exit 2 naming the option', async () => {
    const [ann, bob] = distinctPhones(2);
    await consentToPromotions([ann!]);
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'campaign-cli-'));
    const file = path.join(scratch, 'spring.csv');
    await writeFile(file, `to,name\n${ann},Ann\n${bob},Bob\nnope,Zed\n`);
    const campaignId = `cli-${randomUUID()}`;
    const created = await cli('campaign', 'create', '--csv', file, '--from', uniquePhone(), '--type', 'promotional', '--body', 'Hi {{name}}, 20% off.', '--append-disclosures', '--campaign-id', campaignId);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain(`campaign ${campaignId}`);
    expect(created.stderr).toContain('line 4: to: "nope" is not a phone number');
    expect(created.stderr).toMatch(/sending \|.*\| 100% 2\/2 recipients/);
    expect(created.stdout).toContain('completed: 3 recipients, 1 sent, 1 refused (NO_CONSENT 1), 0 failed, 0 unknown, 0 pending, 0 held, 0 cancelled, 1 invalid');

    expect((await cli('campaign', 'status', campaignId)).stdout).toContain('completed: 3 recipients, 1 sent');
    const recipients = await cli('campaign', 'recipients', campaignId, '--csv');
    expect(recipients.stdout.split('\n')[0]).toBe('line,to,from,status,code,reason,outboundMessageId,providerMessageId,decidedAt,value,heldUntil');
    expect(recipients.stdout.split('\n').filter(Boolean)).toHaveLength(4);
    const pause = await cli('campaign', 'pause', campaignId);
    expect(pause.code).toBe(2);
    expect(pause.stderr.trim()).toBe(`error: invalid input: <campaignId>: campaign ${campaignId} is completed: it cannot be paused`);

    const badRate = await cli('campaign', 'create', '--csv', file, '--from', uniquePhone(), '--type', 'promotional', '--body', 'Hi', '--rate-per-second', '0');
    expect(badRate).toMatchObject({ code: 2, stderr: 'error: invalid input: --rate-per-second: must be more than 0\n' });
    const unknown = await cli('campaign', 'status', `never-${randomUUID()}`);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: no campaign never-/);
  }, 120_000);
});

/** Fails the recipients reads whose number `fail` picks (1 = the first), passing everything else to the pool. */
function failingRecipientsPool(pool: Pool, fail: (call: number) => boolean): Pool {
  let calls = 0;
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return (text: unknown, ...rest: unknown[]) => {
        if (typeof text === 'string' && text.includes('FROM campaign_recipients') && text.includes('ORDER BY line LIMIT')) {
          calls += 1;
          if (fail(calls)) return Promise.reject(Object.assign(new Error('connection lost midway'), { code: '08006', severity: 'ERROR' }));
        }
        return (target.query as (...args: unknown[]) => unknown).call(target, text, ...rest);
      };
    },
  });
}

async function apiWithCampaignPool(pool: Pool) {
  const campaigns = new CampaignClient({ client: harness.client, taskQueue: harness.taskQueue, pool });
  const server = buildApiServer({ consent: harness.consent, client: harness.client, pool: harness.pool, namespace: harness.namespace, taskQueue: harness.taskQueue, campaigns });
  await server.ready();
  return server;
}
