/**
 * The revocation report (consent-rules.md §9): per opt-out received in a range, how soon it was in force, confirmed and
 * listed, the late confirmations (FCC 24-24, 47 CFR 64.1200(a)(12)) and the opt-outs not honoured in time ((a)(10)).
 * Read from the ledger by the same module as GET /v1/reports/revocations; its CSV is that route's export.
 */
import type { FastifyInstance } from 'fastify';
import { RevocationReports } from '../../../activities/postgres/revocation-report';
import { describeIssues } from '../../../workflows/domain/schemas';
import { REVOCATION_CSV_COLUMNS, revocationCsvRecord, revocationReportQuerySchema, type RevocationReport } from '../../../workflows/domain/revocation-report';
import { InvalidInputError } from '../../consent-client';
import { sendCsvExport } from '../csv-export';
import { formValues, type ConsoleContext } from './context';

/** Rows the page shows; the CSV has them all. */
const ROWS_SHOWN = 200;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The last seven days, today included, as days (the form's date fields). */
function defaultRange(now: Date): { from: string; to: string } {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return { from: new Date(today - 6 * DAY_MS).toISOString().slice(0, 10), to: new Date(today + DAY_MS).toISOString().slice(0, 10) };
}

/** A duration as people read it: 850 ms, 4.2 s, 3.5 min, 2.1 h. */
export function readableDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function reportPage(app: FastifyInstance, context: ConsoleContext): void {
  const reports = new RevocationReports(context.pool);
  const { base } = context;

  function readQuery(raw: unknown, format: 'json' | 'csv') {
    const { from, to } = { ...defaultRange(new Date()), ...Object.fromEntries(Object.entries(formValues(raw)).filter(([, value]) => value !== undefined)) } as { from: string; to: string };
    const parsed = revocationReportQuerySchema.safeParse({ from, to, format });
    return { range: { from, to }, parsed };
  }

  app.get('/reports/revocations', async (request, reply) => {
    const { range, parsed } = readQuery(request.query, 'json');
    let report: RevocationReport | null = null;
    let issues: { field: string; message: string }[] = [];
    if (parsed.success) report = await reports.report(parsed.data, new Date());
    else issues = describeIssues(parsed.error);
    return context.render(
      request,
      reply,
      'revocations',
      {
        title: 'Revocation report',
        nav: 'revocations',
        range,
        report,
        issues,
        rowsShown: report ? report.rows.slice(0, ROWS_SHOWN) : [],
        duration: readableDuration,
        csvHref: `${base}/reports/revocations.csv?${new URLSearchParams(range)}`,
        contactHref: (phone: string) => `${base}/contacts/${encodeURIComponent(phone)}`,
      },
      parsed.success ? 200 : 400,
    );
  });

  app.get('/reports/revocations.csv', async (request, reply) => {
    const { parsed } = readQuery(request.query, 'csv');
    if (!parsed.success) throw new InvalidInputError(describeIssues(parsed.error));
    const query = parsed.data;
    const now = new Date();
    return sendCsvExport(request, reply, {
      entries: (async function* () {
        for await (const row of reports.rows(query, now)) yield revocationCsvRecord(row);
      })(),
      columns: REVOCATION_CSV_COLUMNS,
      fileName: 'revocations.csv',
      what: { export: 'revocation report', via: 'console', from: query.from, to: query.to },
    });
  });
}
