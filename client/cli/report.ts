/**
 * `sms-consent report revocations --from --to`: the revocation report from the evidence ledger (consent-rules.md §9),
 * as a summary, as JSON (--json) or its rows as CSV (--csv). Postgres only: the ledger outlives Temporal's retention.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify';
import type { Pool } from 'pg';
import { createPool } from '../../activities/postgres/pool';
import { RevocationReports } from '../../activities/postgres/revocation-report';
import {
  CONFIRMATION_OUTCOMES,
  REVOCATION_CSV_COLUMNS,
  revocationCsvRecord,
  revocationReportQuerySchema,
  type DurationSummary,
  type RevocationReport,
  type RevocationRow,
} from '../../workflows/domain/revocation-report';
import type { ServiceConfig } from '../config';
import { cliEndpoints, loadCliConfig } from './configuration';
import { DependencyError, errorMessage } from './failures';
import { checkInput, openOutput } from './input';

const CLOSE_TIMEOUT_MS = 2_000;

/** One pool per command run, reached first so a Postgres that is down is named (exit 1). */
async function withPostgres<T>(config: ServiceConfig, run: (pool: Pool) => Promise<T>): Promise<T> {
  const { databaseUrl } = await cliEndpoints(config);
  const pool = createPool(databaseUrl, 2);
  try {
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      throw new DependencyError('Postgres', `cannot connect: ${errorMessage(error)}`, { cause: error });
    }
    return await run(pool);
  } finally {
    await Promise.race([pool.end(), new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]);
  }
}

const durations = ({ count, p50Ms, p99Ms, maxMs }: DurationSummary): string =>
  count === 0 ? 'none known' : `p50 ${p50Ms} ms, p99 ${p99Ms} ms, max ${maxMs} ms (${count} known)`;

const describeRow = (row: RevocationRow, detail: string): string =>
  `  ${row.receivedAt}  ${row.contact}${row.businessNumber ? ` on ${row.businessNumber}` : ''}  ${row.source ?? '-'}  ${row.messageId ?? '-'}: ${detail}`;

/** The report as an operator reads it: the three durations, then every opt-out that missed a deadline. */
export function describeRevocationReport(report: RevocationReport): string[] {
  const { summary, thresholds } = report;
  const outcomes = CONFIRMATION_OUTCOMES.map((outcome) => `${summary.confirmations[outcome]} ${outcome}`).join(', ');
  const lines = [
    `opt-outs received ${report.from} to ${report.to}: ${summary.optOuts} (confirmations: ${outcomes})`,
    `  in force       ${durations(summary.inForce)}`,
    `  confirmation   ${durations(summary.confirmation)}`,
    `  list row       ${durations(summary.listed)}`,
    `late confirmations (over ${thresholds.lateConfirmationMs} ms; FCC 24-24, 47 CFR 64.1200(a)(12)): ${report.lateConfirmations.length}`,
    ...report.lateConfirmations.map((row) => describeRow(row, row.confirmationMs === null ? `${row.confirmation}` : `${row.confirmation} after ${row.confirmationMs} ms`)),
    `not honoured within ${thresholds.honourWithinBusinessDays} business days (47 CFR 64.1200(a)(10)): ${report.notHonoured.length}`,
    ...report.notHonoured.map((row) => describeRow(row, `due by ${row.honourBy}; in force ${row.inForceAt ?? 'unknown'}, listed ${row.listedAt}`)),
  ];
  return lines;
}

export function registerReportCommand(program: Command): void {
  const report = program.command('report').description('compliance reports from the evidence ledger');

  report
    .command('revocations')
    .description('per opt-out received in [--from, --to): time to in force, to its confirmation and to its list row; the late and the unhonoured')
    .requiredOption('--from <date>', 'received at or after (2026-12-01 or an ISO timestamp)')
    .requiredOption('--to <date>', 'received before (at most 400 days after --from)')
    .option('--late-confirmation-ms <ms>', 'a confirmation later than this is late', '300000')
    .option('--honour-within-business-days <n>', 'an opt-out not in force and listed by then is not honoured', '10')
    .option('--json', 'print the whole report as JSON')
    .option('--csv', 'write the rows as CSV')
    .option('--output <file>', 'write to this file instead of stdout')
    .action(async (options: { from: string; to: string; lateConfirmationMs: string; honourWithinBusinessDays: string; json?: boolean; csv?: boolean; output?: string }) => {
      const config = loadCliConfig();
      const query = checkInput(revocationReportQuerySchema, {
        from: options.from,
        to: options.to,
        lateConfirmationMs: options.lateConfirmationMs,
        honourWithinBusinessDays: options.honourWithinBusinessDays,
      });
      const out = options.output ? await openOutput(options.output, 'output') : process.stdout;
      await withPostgres(config, async (pool) => {
        const reports = new RevocationReports(pool);
        const now = new Date();
        if (options.csv) {
          const records = (async function* () {
            for await (const row of reports.rows(query, now)) yield revocationCsvRecord(row);
          })();
          await pipeline(Readable.from(records), stringify({ header: true, columns: [...REVOCATION_CSV_COLUMNS] }), out);
          return;
        }
        const built = await reports.report(query, now);
        const text = options.json ? `${JSON.stringify(built, null, 2)}\n` : `${describeRevocationReport(built).join('\n')}\n`;
        if (out === process.stdout) out.write(text);
        else await new Promise<void>((resolve, reject) => out.end(text, () => resolve()).once('error', reject));
      });
    });
}
