import { describe, expect, it } from 'vitest';
import {
  addBusinessDays,
  isLateConfirmation,
  LATE_CONFIRMATION_MS,
  percentile,
  revocationCsvRecord,
  revocationReport,
  revocationReportQuerySchema,
  revocationRow,
  summariseDurations,
  type RevocationFacts,
} from '../../../workflows/domain/revocation-report';

const THRESHOLDS = { lateConfirmationMs: LATE_CONFIRMATION_MS, honourWithinBusinessDays: 10 };
const RECEIVED = '2026-12-04T10:00:00.000Z'; // a Friday
const at = (ms: number) => new Date(Date.parse(RECEIVED) + ms).toISOString();

/** A STOP confirmed by our reply: the facts as the reader returns them, overridable. */
function stop(overrides: Partial<RevocationFacts> = {}): RevocationFacts {
  return {
    ledgerKey: 'contact:+14155550101:run:1',
    contact: '+14155550101',
    businessNumber: '+14155550100',
    source: 'keyword',
    messageId: 'SM1',
    workflowId: 'contact:+14155550101',
    receivedAt: RECEIVED,
    inForceAt: at(12),
    listedAt: at(40),
    confirmationEvent: 'reply_sent',
    confirmationAt: at(250),
    ...overrides,
  };
}

describe('percentile (nearest rank)', () => {
  it.each<[values: number[], p: number, expected: number | null]>([
    [[], 50, null],
    [[7], 50, 7],
    [[7], 99, 7],
    [[4, 1, 3, 2], 50, 2],
    [[4, 1, 3, 2], 99, 4],
    [Array.from({ length: 100 }, (_, i) => i + 1), 50, 50],
    [Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
    [Array.from({ length: 10 }, (_, i) => i + 1), 99, 10],
    [Array.from({ length: 1000 }, (_, i) => 1000 - i), 99, 990],
  ])('of %j at p%d is %s: a value one opt-out really had', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it('does not reorder the caller’s values', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });

  it('summarises only the durations that are known', () => {
    expect(summariseDurations([null, 30, 10, null, 20])).toEqual({ count: 3, p50Ms: 20, p99Ms: 30, maxMs: 30 });
    expect(summariseDurations([null])).toEqual({ count: 0, p50Ms: null, p99Ms: null, maxMs: null });
  });
});

describe('business days (Mon–Fri, UTC; holidays not excluded)', () => {
  it.each<[start: string, days: number, expected: string]>([
    ['2026-12-04T10:00:00.000Z', 1, '2026-12-07T10:00:00.000Z'], // Friday → Monday, across the weekend
    ['2026-12-05T10:00:00.000Z', 1, '2026-12-07T10:00:00.000Z'], // Saturday → Monday
    ['2026-12-06T23:59:00.000Z', 1, '2026-12-07T23:59:00.000Z'], // Sunday → Monday
    ['2026-12-07T10:00:00.000Z', 5, '2026-12-14T10:00:00.000Z'], // Monday → next Monday
    ['2026-12-04T10:00:00.000Z', 10, '2026-12-18T10:00:00.000Z'], // two weekends
    ['2026-12-23T08:00:00.000Z', 10, '2027-01-06T08:00:00.000Z'], // Christmas and New Year count: stricter
  ])('%s + %d business days is %s', (start, days, expected) => {
    expect(addBusinessDays(start, days).toISOString()).toBe(expected);
  });
});

describe('a late confirmation (FCC 24-24: within 5 minutes)', () => {
  const now = new Date(at(60 * 60 * 1000));
  it('is one handed over after the threshold, not at it', () => {
    expect(isLateConfirmation(LATE_CONFIRMATION_MS, RECEIVED, LATE_CONFIRMATION_MS, now)).toBe(false);
    expect(isLateConfirmation(LATE_CONFIRMATION_MS + 1, RECEIVED, LATE_CONFIRMATION_MS, now)).toBe(true);
    expect(isLateConfirmation(2999, RECEIVED, 3000, now)).toBe(false);
    expect(isLateConfirmation(3001, RECEIVED, 3000, now)).toBe(true);
  });

  it('is one still missing once the threshold has passed since the STOP, and not before', () => {
    expect(isLateConfirmation(null, RECEIVED, LATE_CONFIRMATION_MS, new Date(at(LATE_CONFIRMATION_MS)))).toBe(false);
    expect(isLateConfirmation(null, RECEIVED, LATE_CONFIRMATION_MS, new Date(at(LATE_CONFIRMATION_MS + 1)))).toBe(true);
  });
});

describe('one opt-out’s row', () => {
  const now = new Date(at(24 * 60 * 60 * 1000));

  it('measures in force, confirmation and list row from the STOP’s receipt', () => {
    expect(revocationRow(stop(), THRESHOLDS, now)).toMatchObject({
      inForceMs: 12,
      confirmation: 'sent',
      confirmedAt: at(250),
      confirmationMs: 250,
      confirmationLate: false,
      listedMs: 40,
      honourBy: '2026-12-18T10:00:00.000Z',
      honouredInTime: true,
    });
  });

  it('a confirmation six minutes after the STOP is late; with a 3 s threshold, one after 3.5 s is', () => {
    expect(revocationRow(stop({ confirmationAt: at(6 * 60 * 1000) }), THRESHOLDS, now).confirmationLate).toBe(true);
    expect(revocationRow(stop({ confirmationAt: at(3500) }), { ...THRESHOLDS, lateConfirmationMs: 3000 }, now).confirmationLate).toBe(true);
    expect(revocationRow(stop({ confirmationAt: at(2500) }), { ...THRESHOLDS, lateConfirmationMs: 3000 }, now).confirmationLate).toBe(false);
  });

  it('the provider’s own answer to the STOP is a confirmation at its receipt', () => {
    expect(revocationRow(stop({ confirmationEvent: 'provider_replied', confirmationAt: RECEIVED }), THRESHOLDS, now)).toMatchObject({
      confirmation: 'provider replied',
      confirmationMs: 0,
      confirmationLate: false,
    });
  });

  it('an import or an operator’s record is owed no confirmation, and is never late for want of one', () => {
    for (const source of ['suppression-import', 'operator-recorded', 'carrier']) {
      const row = revocationRow(stop({ source, messageId: null, businessNumber: null, confirmationEvent: null, confirmationAt: null }), THRESHOLDS, now);
      expect(row).toMatchObject({ confirmation: 'not owed', confirmationMs: null, confirmationLate: false });
    }
  });

  it('a STOP with no confirmation in the ledger is missing, and late once 5 minutes have passed; failed and withheld ones too', () => {
    expect(revocationRow(stop({ confirmationEvent: null, confirmationAt: null }), THRESHOLDS, new Date(at(1000)))).toMatchObject({ confirmation: 'missing', confirmationLate: false });
    expect(revocationRow(stop({ confirmationEvent: null, confirmationAt: null }), THRESHOLDS, now)).toMatchObject({ confirmation: 'missing', confirmationMs: null, confirmationLate: true });
    expect(revocationRow(stop({ confirmationEvent: 'reply_failed', confirmationAt: at(90_000) }), THRESHOLDS, now)).toMatchObject({ confirmation: 'failed', confirmationMs: null, confirmationLate: true });
    expect(revocationRow(stop({ confirmationEvent: 'reply_withheld', confirmationAt: at(90_000) }), THRESHOLDS, now)).toMatchObject({ confirmation: 'withheld', confirmedAt: null, confirmationLate: true });
  });

  it('an entry from before inForceAt has no in-force time, and is honoured by its list row', () => {
    expect(revocationRow(stop({ inForceAt: null }), THRESHOLDS, now)).toMatchObject({ inForceAt: null, inForceMs: null, listedMs: 40, honouredInTime: true });
  });

  it('an opt-out taken by phone on a Friday and recorded 10 business days later at the same hour is honoured in time; a minute later it is not', () => {
    const deadline = '2026-12-18T10:00:00.000Z';
    const onTime = stop({ source: 'operator-recorded', messageId: null, confirmationEvent: null, confirmationAt: null, inForceAt: deadline, listedAt: deadline });
    expect(revocationRow(onTime, THRESHOLDS, now)).toMatchObject({ honourBy: deadline, honouredInTime: true });
    const late = { ...onTime, listedAt: '2026-12-18T10:01:00.000Z' };
    expect(revocationRow(late, THRESHOLDS, now).honouredInTime).toBe(false);
    // In force on time but listed late is not honoured: both must hold.
    expect(revocationRow({ ...late, inForceAt: at(10) }, THRESHOLDS, now).honouredInTime).toBe(false);
  });
});

describe('the report', () => {
  it('summarises every row and lists exactly the late and the unhonoured', () => {
    const now = new Date('2027-01-31T00:00:00.000Z');
    const facts = [
      stop({ contact: '+14155550101', confirmationAt: at(100) }),
      stop({ contact: '+14155550102', confirmationAt: at(400_000) }),
      stop({ contact: '+14155550103', confirmationEvent: 'provider_replied', confirmationAt: RECEIVED }),
      stop({ contact: '+14155550104', source: 'suppression-import', messageId: null, confirmationEvent: null, confirmationAt: null, inForceAt: null }),
      stop({ contact: '+14155550105', source: 'operator-recorded', messageId: null, confirmationEvent: null, confirmationAt: null, listedAt: '2027-01-04T10:00:00.000Z', inForceAt: '2027-01-04T10:00:00.000Z' }),
    ];
    const rows = facts.map((f) => revocationRow(f, THRESHOLDS, now));
    const report = revocationReport({ from: '2026-12-01T00:00:00.000Z', to: '2026-12-31T00:00:00.000Z', ...THRESHOLDS }, rows, now);
    expect(report.summary.optOuts).toBe(5);
    expect(report.summary.confirmations).toEqual({ sent: 2, 'provider replied': 1, failed: 0, withheld: 0, missing: 0, 'not owed': 2 });
    expect(report.summary.confirmation).toEqual({ count: 3, p50Ms: 100, p99Ms: 400_000, maxMs: 400_000 });
    expect(report.summary.inForce).toEqual({ count: 4, p50Ms: 12, p99Ms: Date.parse('2027-01-04T10:00:00.000Z') - Date.parse(RECEIVED), maxMs: Date.parse('2027-01-04T10:00:00.000Z') - Date.parse(RECEIVED) });
    expect(report.lateConfirmations.map((row) => row.contact)).toEqual(['+14155550102']);
    expect(report.notHonoured.map((row) => row.contact)).toEqual(['+14155550105']);
    expect(report.rows).toBe(rows);
  });

  it('writes a CSV line per row: unknowns empty, verdicts as true/false', () => {
    const record = revocationCsvRecord(revocationRow(stop({ inForceAt: null }), THRESHOLDS, new Date(at(60_000))));
    expect(record).toMatchObject({ inForceAt: '', inForceMs: '', confirmationMs: '250', confirmationLate: 'false', honouredInTime: 'true', source: 'keyword' });
  });
});

describe('the query', () => {
  it('takes days or timestamps as instants, and defaults the thresholds to the FCC’s', () => {
    expect(revocationReportQuerySchema.parse({ from: '2026-12-01', to: '2026-12-02T09:00:00+02:00' })).toEqual({
      from: '2026-12-01T00:00:00.000Z',
      to: '2026-12-02T07:00:00.000Z',
      format: 'json',
      lateConfirmationMs: 300_000,
      honourWithinBusinessDays: 10,
    });
  });

  it.each<[query: Record<string, unknown>, field: string]>([
    [{ from: 'yesterday', to: '2026-12-02' }, 'from'],
    [{ from: '2026-02-30', to: '2026-12-02' }, 'from'],
    [{ to: '2026-12-02' }, 'from'],
    [{ from: '2026-12-02', to: '2026-12-01' }, 'to'],
    [{ from: '2026-01-01', to: '2027-02-06' }, 'to'],
    [{ from: '2026-12-01', to: '2026-12-02', lateConfirmationMs: '-1' }, 'lateConfirmationMs'],
    [{ from: '2026-12-01', to: '2026-12-02', honourWithinBusinessDays: '1.5' }, 'honourWithinBusinessDays'],
  ])('%j is refused, naming %s', (query, field) => {
    const result = revocationReportQuerySchema.safeParse(query);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual([field]);
  });

  it('takes a range of exactly 400 days', () => {
    expect(revocationReportQuerySchema.safeParse({ from: '2026-01-01', to: '2027-02-05' }).success).toBe(true);
  });
});
