/**
 * The revocation report (consent-rules.md §9) against the real dev server and Postgres: STOPs from several contacts,
 * some of them during a provider outage that holds their confirmations past a low lateness threshold, and an opt-out an
 * operator records three weeks after the call. The report must say exactly what the ledger says.
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentLedger } from '../../activities/postgres/ledger';
import { REVOCATION_CSV_COLUMNS, type RevocationReport, type RevocationRow } from '../../workflows/domain/revocation-report';
import { buildTestApi, inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { switchableProvider } from '../support/switchable-provider';

const run = promisify(execFile);
const BIN = path.join(__dirname, '..', '..', 'client', 'cli', 'bin.cjs');

/**
 * A confirmation later than this is late. Undelayed ones take well under a second; one held by the outage waits for the
 * reply's retries (1 s, 2 s, 4 s, 8 s apart), the first after the outage landing about 15 s after its STOP.
 */
const LATE_CONFIRMATION_MS = 5000;
/** How long the provider stays down after the last delayed STOP: past the retry 7 s in, so the next (15 s) sends. */
const OUTAGE_MS = 9000;
const DAY_MS = 86_400_000;

const outage = switchableProvider();
let harness: Harness;
let api: FastifyInstance;
let scratch: string;
const ledger = () => new ConsentLedger(harness.pool);

/** Each contact's STOP: its own number and business number, so the report's rows are told apart by contact. */
interface Stop {
  contact: string;
  business: string;
  messageId: string;
}
const onTime: Stop[] = [];
const delayed: Stop[] = [];
/** an operator records, today, an opt-out a contact asked for on a call three weeks ago */
let lateRecord: string;
let from: string;
let to: string;
let report: RevocationReport;

async function stopFrom(): Promise<Stop> {
  const [contact, business] = [uniquePhone(), uniquePhone()];
  const text = inboundText(contact, business, 'STOP');
  await harness.consent.handleInbound(text);
  return { contact, business, messageId: text.messageId };
}

const confirmed = (stop: Stop) =>
  waitFor(() => ledger().byEvent(stop.contact, 'reply_sent'), (entries) => entries.length === 1, { what: `the confirmation to ${stop.contact}`, timeoutMs: 90_000, intervalMs: 100 });

async function reportRequest(query: string) {
  return api.inject({ method: 'GET', url: `/v1/reports/revocations?${query}` });
}

const range = () => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

beforeAll(async () => {
  harness = await startHarness({ provider: outage.provider });
  api = await buildTestApi(harness);
  scratch = await mkdtemp(path.join(os.tmpdir(), 'sms-consent-report-'));
  // Three weeks back, so the operator's late record falls inside the range.
  from = new Date(Date.now() - 30 * DAY_MS).toISOString();

  for (let i = 0; i < 3; i += 1) onTime.push(await stopFrom());
  await Promise.all(onTime.map(confirmed));

  outage.state.down = true;
  for (let i = 0; i < 3; i += 1) delayed.push(await stopFrom());
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  outage.state.down = false;
  await Promise.all(delayed.map(confirmed));

  for (let i = 0; i < 2; i += 1) onTime.push(await stopFrom());
  await Promise.all(onTime.slice(3).map(confirmed));

  lateRecord = uniquePhone();
  await harness.consent.addOptOut({ phone: lateRecord, recordedBy: 'agent@acme.example', note: 'asked on a call to stop texts', at: new Date(Date.now() - 21 * DAY_MS).toISOString() });
  await waitFor(() => ledger().byEvent(lateRecord, 'opt_out'), (entries) => entries.length === 1, { what: 'the operator’s opt-out in the ledger' });

  to = new Date(Date.now() + 1000).toISOString();
  const response = await reportRequest(`${range()}&lateConfirmationMs=${LATE_CONFIRMATION_MS}`);
  expect(response.statusCode, response.body).toBe(200);
  report = response.json();
}, 180_000);

afterAll(async () => {
  outage.state.down = false;
  await api?.close();
  await harness?.stop();
});

const ours = () => [...onTime, ...delayed].map((stop) => stop.contact).concat(lateRecord);
/** This file's rows: every file of the run shares the database, so the range holds other files' opt-outs too. */
const rowsOf = (rows: RevocationRow[]) => rows.filter((row) => ours().includes(row.contact));
const since = (receivedAt: string, at: string) => Date.parse(at) - Date.parse(receivedAt);

describe('the revocation report, from the evidence ledger', () => {
  it('has one row per opt-out received in the range, each duration exactly what the ledger rows say', async () => {
    const rows = rowsOf(report.rows);
    expect(rows.map((row) => row.contact).sort()).toEqual(ours().sort());
    for (const stop of [...onTime, ...delayed]) {
      const [optOut] = await ledger().byEvent(stop.contact, 'opt_out');
      const [reply] = await ledger().byEvent(stop.contact, 'reply_sent');
      expect(reply).toMatchObject({ source: 'opt_out_confirmation', evidence: { inboundMessageId: stop.messageId } });
      const inForceAt = optOut!.evidence.inForceAt as string;
      expect(rows.find((row) => row.contact === stop.contact)).toEqual({
        contact: stop.contact,
        businessNumber: stop.business,
        source: 'keyword',
        messageId: stop.messageId,
        workflowId: optOut!.workflowId,
        ledgerKey: optOut!.key,
        receivedAt: optOut!.occurredAt,
        inForceAt,
        inForceMs: since(optOut!.occurredAt, inForceAt),
        confirmation: 'sent',
        confirmedAt: reply!.occurredAt,
        confirmationMs: since(optOut!.occurredAt, reply!.occurredAt),
        confirmationLate: since(optOut!.occurredAt, reply!.occurredAt) > LATE_CONFIRMATION_MS,
        listedAt: optOut!.recordedAt,
        listedMs: since(optOut!.occurredAt, optOut!.recordedAt),
        honourBy: expect.any(String),
        honouredInTime: true,
      });
    }
  });

  it('the opt-out an operator recorded is owed no confirmation, and is not honoured within 10 business days of the call', async () => {
    const [optOut] = await ledger().byEvent(lateRecord, 'opt_out');
    const row = rowsOf(report.rows).find((candidate) => candidate.contact === lateRecord);
    expect(row).toMatchObject({
      source: 'operator-recorded',
      businessNumber: null,
      messageId: null,
      receivedAt: optOut!.occurredAt,
      listedAt: optOut!.recordedAt,
      confirmation: 'not owed',
      confirmationMs: null,
      confirmationLate: false,
      honouredInTime: false,
    });
    expect(Date.parse(row!.honourBy)).toBeLessThan(Date.parse(row!.listedAt));
    expect(rowsOf(report.notHonoured).map((candidate) => candidate.contact)).toEqual([lateRecord]);
  });

  it('lists as late exactly the confirmations the outage delayed', () => {
    expect(report.thresholds).toEqual({ lateConfirmationMs: LATE_CONFIRMATION_MS, honourWithinBusinessDays: 10 });
    const late = rowsOf(report.lateConfirmations);
    expect(late.map((row) => row.contact).sort()).toEqual(delayed.map((stop) => stop.contact).sort());
    for (const row of late) expect(row.confirmationMs).toBeGreaterThan(LATE_CONFIRMATION_MS);
    for (const row of rowsOf(report.rows).filter((candidate) => onTime.some((stop) => stop.contact === candidate.contact))) {
      expect(row.confirmationMs).toBeLessThanOrEqual(LATE_CONFIRMATION_MS);
    }
    // Every late one in the whole report is a row the report holds, late by its own numbers.
    for (const row of report.lateConfirmations) expect(report.rows).toContainEqual(row);
  });

  it('p50, p99 and max of each duration are those of the rows (nearest rank)', () => {
    const check = (summary: RevocationReport['summary']['inForce'], values: (number | null)[]) => {
      const known = values.filter((value): value is number => value !== null);
      expect(summary.count).toBe(known.length);
      expect(summary.maxMs).toBe(Math.max(...known));
      for (const [p, value] of [[50, summary.p50Ms], [99, summary.p99Ms]] as const) {
        // The smallest duration with at least p% of the rows at or below it.
        expect(known).toContain(value);
        expect(known.filter((v) => v <= value!).length).toBeGreaterThanOrEqual(Math.ceil((p / 100) * known.length));
        expect(known.filter((v) => v < value!).length).toBeLessThan(Math.ceil((p / 100) * known.length));
      }
    };
    expect(report.summary.optOuts).toBe(report.rows.length);
    check(report.summary.inForce, report.rows.map((row) => row.inForceMs));
    check(report.summary.confirmation, report.rows.map((row) => row.confirmationMs));
    check(report.summary.listed, report.rows.map((row) => row.listedMs));
    expect(report.summary.confirmation.maxMs).toBeGreaterThanOrEqual(Math.max(...rowsOf(report.lateConfirmations).map((row) => row.confirmationMs!)));
  });

  it('the CSV export has the same rows', async () => {
    const response = await reportRequest(`${range()}&lateConfirmationMs=${LATE_CONFIRMATION_MS}&format=csv`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    expect(response.body.split('\n')[0]).toBe(REVOCATION_CSV_COLUMNS.join(','));
    const records = (parse(response.body, { columns: true }) as Record<string, string>[]).filter((record) => ours().includes(record.contact!));
    const asCsv = (row: RevocationRow) => Object.fromEntries(REVOCATION_CSV_COLUMNS.map((column) => [column, row[column] === null ? '' : String(row[column])]));
    expect(records).toEqual(rowsOf(report.rows).map(asCsv));
  });

  it('the CLI prints it: the durations, the late confirmations and the unhonoured opt-out; --csv the rows', async () => {
    const printed = await cli('report', 'revocations', '--from', from, '--to', to, '--late-confirmation-ms', String(LATE_CONFIRMATION_MS));
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toMatch(/^opt-outs received .* to .*: \d+ \(confirmations: \d+ sent, /);
    expect(printed.stdout).toMatch(/\n {2}in force {7}p50 -?\d+ ms, p99 -?\d+ ms, max -?\d+ ms \(\d+ known\)/);
    expect(printed.stdout).toMatch(/\n {2}confirmation {3}p50 \d+ ms/);
    expect(printed.stdout).toMatch(/\n {2}list row {7}p50 -?\d+ ms/);
    expect(printed.stdout).toContain(`late confirmations (over ${LATE_CONFIRMATION_MS} ms; FCC 24-24, 47 CFR 64.1200(a)(12)):`);
    for (const stop of delayed) expect(printed.stdout).toMatch(new RegExp(`\\${stop.contact} on \\${stop.business} {2}keyword {2}${stop.messageId}: sent after \\d+ ms`));
    for (const stop of onTime) expect(printed.stdout).not.toContain(stop.contact);
    expect(printed.stdout).toContain('not honoured within 10 business days (47 CFR 64.1200(a)(10)):');
    expect(printed.stdout).toMatch(new RegExp(`\\${lateRecord} {2}operator-recorded {2}-: due by `));

    const csv = await cli('report', 'revocations', '--from', from, '--to', to, '--csv');
    expect(csv.code, csv.stderr).toBe(0);
    const records = (parse(csv.stdout, { columns: true }) as Record<string, string>[]).filter((record) => ours().includes(record.contact!));
    expect(records.map((record) => [record.contact, record.ledgerKey])).toEqual(rowsOf(report.rows).map((row) => [row.contact, row.ledgerKey]));

    const bad = await cli('report', 'revocations', '--from', 'last week', '--to', to);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--from: must be a date \(2026-11-27\) or an ISO 8601 timestamp/);
  });

  it('a bad from is a 400 naming the field; so is a range over 400 days, naming to', async () => {
    const badFrom = await reportRequest(`from=yesterday&to=${encodeURIComponent(to)}`);
    expect(badFrom.statusCode).toBe(400);
    expect(badFrom.json()).toEqual({ error: 'invalid_request', issues: [{ field: 'from', message: 'must be a date (2026-11-27) or an ISO 8601 timestamp' }] });

    const tooLong = await reportRequest('from=2025-01-01&to=2026-12-01');
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json()).toMatchObject({ error: 'invalid_request', issues: [{ field: 'to', message: expect.stringMatching(/^must be at most 400 days after from/) }] });

    const badThreshold = await reportRequest(`${range()}&lateConfirmationMs=soon`);
    expect(badThreshold.statusCode).toBe(400);
    expect(badThreshold.json()).toMatchObject({ issues: [{ field: 'lateConfirmationMs' }] });
  });
});

/** The CLI as an operator runs it, in its own process, against the test's database. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: harness.temporalAddress, DATABASE_URL: harness.databaseUrl, TEMPORAL_TASK_QUEUE: harness.taskQueue, DATA_DIR: scratch },
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
