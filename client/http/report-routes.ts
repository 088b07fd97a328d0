/**
 * The compliance reports, built from the evidence ledger: GET /v1/reports/revocations says, per opt-out, how soon it was
 * in force, confirmed and listed (consent-rules.md §9). Registered by server.ts, behind its API keys and error answers.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Pool } from 'pg';
import { RevocationReports } from '../../activities/postgres/revocation-report';
import { REVOCATION_CSV_COLUMNS, revocationCsvRecord, revocationReportQuerySchema } from '../../workflows/domain/revocation-report';
import { sendCsvExport } from './csv-export';

export interface ReportRouteOptions {
  pool: Pool;
}

export const reportRoutes: FastifyPluginAsync<ReportRouteOptions> = async (instance, { pool }) => {
  const app = instance.withTypeProvider<ZodTypeProvider>();
  const reports = new RevocationReports(pool);

  /** `?from=&to=` (by the STOP's receipt, at most 400 days): the summary, the late and the unhonoured, and every row; `&format=csv` the rows. */
  app.get('/v1/reports/revocations', { schema: { querystring: revocationReportQuerySchema } }, async (request, reply) => {
    const now = new Date();
    const { query } = request;
    if (query.format !== 'csv') return reports.report(query, now);
    return sendCsvExport(request, reply, {
      entries: (async function* () {
        for await (const row of reports.rows(query, now)) yield revocationCsvRecord(row);
      })(),
      columns: REVOCATION_CSV_COLUMNS,
      fileName: 'revocations.csv',
      what: { export: 'revocation report', from: query.from, to: query.to },
    });
  });
};
