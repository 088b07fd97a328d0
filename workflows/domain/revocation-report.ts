/**
 * The revocation report (consent-rules.md §9, "Confirmations on time"): for each opt-out, how long from the STOP's
 * receipt until it was in force, its confirmation was handed to the provider, and its opt-out list row was written,
 * and which opt-outs missed the FCC's deadlines. Pure: the facts come from the evidence ledger (the Postgres reader in
 * activities/postgres/revocation-report.ts), the arithmetic is here.
 */
import { timestampProblem } from './storable';
import { z } from './zod';

/** FCC 24-24, 47 CFR 64.1200(a)(12): the confirmation of an opt-out goes out within 5 minutes. */
export const LATE_CONFIRMATION_MS = 5 * 60 * 1000;
/** 47 CFR 64.1200(a)(10): a revocation is honoured within 10 business days of its receipt. */
export const HONOUR_WITHIN_BUSINESS_DAYS = 10;
/** The widest range one report reads: a year and a month, so a yearly audit fits and a typo'd year does not. */
export const MAX_REPORT_RANGE_DAYS = 400;

const DAY_MS = 24 * 60 * 60 * 1000;

/** A day (2026-12-01, midnight UTC) or an ISO 8601 timestamp, as the exact instant it names. */
const reportInstantSchema = z
  .string()
  .superRefine((value, ctx) => {
    const problem = timestampProblem(value, { dayAllowed: true });
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((value) => new Date(value).toISOString());

/** GET /v1/reports/revocations and `sms-consent report revocations`: the range by the STOP's receipt, [from, to). */
export const revocationReportQuerySchema = z
  .object({
    from: reportInstantSchema,
    to: reportInstantSchema,
    format: z.enum(['json', 'csv']).default('json'),
    /** a confirmation handed to the provider later than this after the STOP's receipt is late (tests set it low) */
    lateConfirmationMs: z.coerce.number().int().min(0).max(7 * DAY_MS).default(LATE_CONFIRMATION_MS),
    /** an opt-out neither in force nor listed this many business days after its receipt is not honoured */
    honourWithinBusinessDays: z.coerce.number().int().min(1).max(260).default(HONOUR_WITHIN_BUSINESS_DAYS),
  })
  .superRefine(({ from, to }, ctx) => {
    const span = Date.parse(to) - Date.parse(from);
    if (span <= 0) ctx.addIssue({ code: 'custom', path: ['to'], message: `must be after from (${from})` });
    else if (span > MAX_REPORT_RANGE_DAYS * DAY_MS) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `must be at most ${MAX_REPORT_RANGE_DAYS} days after from (${from}): ask for a long period a part at a time` });
    }
  });
export type RevocationReportQuery = z.output<typeof revocationReportQuerySchema>;
export type RevocationThresholds = Pick<RevocationReportQuery, 'lateConfirmationMs' | 'honourWithinBusinessDays'>;

/** How the contact was told: by us, by the provider itself, not at all (and why), or not owed at all. */
export const CONFIRMATION_OUTCOMES = [
  /** our reply_sent: handed to the provider */
  'sent',
  /** provider_replied: the provider answered the STOP itself (consent-rules.md §11) */
  'provider replied',
  /** reply_failed: every attempt failed, or the provider refused it for good */
  'failed',
  /** reply_withheld: no longer true when its turn came (the contact's START came first) */
  'withheld',
  /** owed, and nothing in the ledger yet */
  'missing',
  /** an import, an operator's record or a carrier's: the contact did not text us, so no SMS is owed (§3) */
  'not owed',
] as const;
export type ConfirmationOutcome = (typeof CONFIRMATION_OUTCOMES)[number];

/** One opt-out as the ledger holds it: its opt_out entry and what became of its confirmation. */
export interface RevocationFacts {
  ledgerKey: string;
  contact: string;
  businessNumber: string | null;
  /** keyword, revocation, suppression-import, operator-recorded, carrier */
  source: string | null;
  /** the STOP's provider message id; null for opt-outs that came without a text */
  messageId: string | null;
  workflowId: string | null;
  /** the opt_out entry's occurredAt: the STOP's receivedAt (or when an operator says it was taken) */
  receivedAt: string;
  /** evidence.inForceAt, the actor's clock when it applied the opt-out; absent from entries written before it existed */
  inForceAt: string | null;
  /** the opt_out entry's recorded_at: its list row is written in the same transaction */
  listedAt: string;
  /** the confirmation's ledger entry, by preference the one that told the contact */
  confirmationEvent: 'reply_sent' | 'provider_replied' | 'reply_failed' | 'reply_withheld' | null;
  /** that entry's occurredAt: when the reply was handed to the provider (or the STOP's receipt, for the provider's own) */
  confirmationAt: string | null;
}

export interface RevocationRow {
  contact: string;
  businessNumber: string | null;
  source: string | null;
  messageId: string | null;
  workflowId: string | null;
  ledgerKey: string;
  receivedAt: string;
  inForceAt: string | null;
  inForceMs: number | null;
  confirmation: ConfirmationOutcome;
  /** when our confirmation was handed to the provider (the provider's own: the STOP's receipt) */
  confirmedAt: string | null;
  confirmationMs: number | null;
  /** owed and not handed over within lateConfirmationMs (one still missing counts once that time has passed) */
  confirmationLate: boolean;
  listedAt: string;
  listedMs: number;
  /** the (a)(10) deadline: honourWithinBusinessDays business days after the receipt */
  honourBy: string;
  /** in force and listed by honourBy */
  honouredInTime: boolean;
}

export interface DurationSummary {
  /** the opt-outs this duration is known for */
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface RevocationReport {
  from: string;
  to: string;
  generatedAt: string;
  thresholds: RevocationThresholds;
  summary: {
    optOuts: number;
    confirmations: Record<ConfirmationOutcome, number>;
    inForce: DurationSummary;
    confirmation: DurationSummary;
    listed: DurationSummary;
  };
  /** every confirmation owed and not handed over within lateConfirmationMs (FCC 24-24, 47 CFR 64.1200(a)(12)) */
  lateConfirmations: RevocationRow[];
  /** every opt-out not in force and listed within honourWithinBusinessDays business days (47 CFR 64.1200(a)(10)) */
  notHonoured: RevocationRow[];
  rows: RevocationRow[];
}

/**
 * The nearest-rank percentile (the smallest value with at least p% of the values at or below it), so every
 * percentile reported is a duration one opt-out really had. Null for no values.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function summariseDurations(values: readonly (number | null)[]): DurationSummary {
  const known = values.filter((value): value is number => value !== null);
  return { count: known.length, p50Ms: percentile(known, 50), p99Ms: percentile(known, 99), maxMs: known.length > 0 ? Math.max(...known) : null };
}

/**
 * The instant `days` business days after `start`, at the same UTC time of day: each day Monday to Friday (UTC) counts,
 * so a STOP on a Saturday has its first business day on Monday. Federal holidays are not excluded: a holiday counts
 * as a business day, which only makes the deadline earlier and the check stricter.
 */
export function addBusinessDays(start: string | Date, days: number): Date {
  const at = new Date(start);
  for (let counted = 0; counted < days; ) {
    at.setUTCDate(at.getUTCDate() + 1);
    const weekday = at.getUTCDay();
    if (weekday !== 0 && weekday !== 6) counted += 1;
  }
  return at;
}

/**
 * An opt-out the contact texted is confirmed on that thread (consent-rules.md §3): a keyword or revocation, or any
 * opt-out whose entry names the text it came from. Imports, carriers and operators' records without one are owed none.
 */
export function confirmationOwed(facts: Pick<RevocationFacts, 'source' | 'messageId'>): boolean {
  return facts.source === 'keyword' || facts.source === 'revocation' || facts.messageId !== null;
}

/** Whether an owed confirmation is late: handed over after the threshold, or not at all and the threshold has passed. */
export function isLateConfirmation(confirmationMs: number | null, receivedAt: string, lateConfirmationMs: number, now: Date): boolean {
  if (confirmationMs !== null) return confirmationMs > lateConfirmationMs;
  return now.getTime() - Date.parse(receivedAt) > lateConfirmationMs;
}

const instant = (value: string | null): number | null => {
  if (value === null) return null;
  const at = Date.parse(value);
  return Number.isFinite(at) ? at : null;
};

function confirmationOutcome(facts: RevocationFacts): ConfirmationOutcome {
  switch (facts.confirmationEvent) {
    case 'reply_sent':
      return 'sent';
    case 'provider_replied':
      return 'provider replied';
    case 'reply_failed':
      return 'failed';
    case 'reply_withheld':
      return 'withheld';
    default:
      return confirmationOwed(facts) ? 'missing' : 'not owed';
  }
}

/** One opt-out's durations and verdicts, as of `now` (a confirmation still missing becomes late once its time has passed). */
export function revocationRow(facts: RevocationFacts, thresholds: RevocationThresholds, now: Date): RevocationRow {
  const received = Date.parse(facts.receivedAt);
  const since = (at: number | null) => (at === null ? null : at - received);
  const inForce = instant(facts.inForceAt);
  const listed = Date.parse(facts.listedAt);
  const confirmation = confirmationOutcome(facts);
  const told = confirmation === 'sent' || confirmation === 'provider replied';
  const confirmedAt = told ? instant(facts.confirmationAt) : null;
  const confirmationMs = since(confirmedAt);
  const honourBy = addBusinessDays(facts.receivedAt, thresholds.honourWithinBusinessDays);
  // An entry from before inForceAt was recorded by the actor after it applied the opt-out: in force by its listing.
  const honouredAt = Math.max(inForce ?? listed, listed);
  return {
    contact: facts.contact,
    businessNumber: facts.businessNumber,
    source: facts.source,
    messageId: facts.messageId,
    workflowId: facts.workflowId,
    ledgerKey: facts.ledgerKey,
    receivedAt: facts.receivedAt,
    inForceAt: inForce === null ? null : new Date(inForce).toISOString(),
    inForceMs: since(inForce),
    confirmation,
    confirmedAt: confirmedAt === null ? null : new Date(confirmedAt).toISOString(),
    confirmationMs,
    confirmationLate: confirmation !== 'not owed' && isLateConfirmation(confirmationMs, facts.receivedAt, thresholds.lateConfirmationMs, now),
    listedAt: facts.listedAt,
    listedMs: listed - received,
    honourBy: honourBy.toISOString(),
    honouredInTime: honouredAt <= honourBy.getTime(),
  };
}

/** The summary over every row of the range, with the rows that missed a deadline listed. */
export function revocationReport(query: Pick<RevocationReportQuery, 'from' | 'to'> & RevocationThresholds, rows: RevocationRow[], now: Date): RevocationReport {
  const confirmations = Object.fromEntries(CONFIRMATION_OUTCOMES.map((outcome) => [outcome, 0])) as Record<ConfirmationOutcome, number>;
  for (const row of rows) confirmations[row.confirmation] += 1;
  return {
    from: query.from,
    to: query.to,
    generatedAt: now.toISOString(),
    thresholds: { lateConfirmationMs: query.lateConfirmationMs, honourWithinBusinessDays: query.honourWithinBusinessDays },
    summary: {
      optOuts: rows.length,
      confirmations,
      inForce: summariseDurations(rows.map((row) => row.inForceMs)),
      confirmation: summariseDurations(rows.map((row) => row.confirmationMs)),
      listed: summariseDurations(rows.map((row) => row.listedMs)),
    },
    lateConfirmations: rows.filter((row) => row.confirmationLate),
    notHonoured: rows.filter((row) => !row.honouredInTime),
    rows,
  };
}

/** The CSV export's columns, in order: one line per opt-out, as in `rows`. */
export const REVOCATION_CSV_COLUMNS = [
  'receivedAt',
  'contact',
  'businessNumber',
  'source',
  'messageId',
  'workflowId',
  'inForceAt',
  'inForceMs',
  'confirmation',
  'confirmedAt',
  'confirmationMs',
  'confirmationLate',
  'listedAt',
  'listedMs',
  'honourBy',
  'honouredInTime',
  'ledgerKey',
] as const satisfies readonly (keyof RevocationRow)[];

/** A row as CSV cells: empty for unknown, and true/false spelt out (csv-stringify writes a boolean as 1 or nothing). */
export function revocationCsvRecord(row: RevocationRow): Record<(typeof REVOCATION_CSV_COLUMNS)[number], string> {
  return Object.fromEntries(REVOCATION_CSV_COLUMNS.map((column) => [column, row[column] === null ? '' : String(row[column])])) as Record<(typeof REVOCATION_CSV_COLUMNS)[number], string>;
}
