/**
 * The revocation report's facts, read from the evidence ledger (consent-rules.md §8, §9): it holds every opt-out long
 * after Temporal's retention has dropped the runs that applied them. One query, a page at a time.
 */
import type { Pool } from 'pg';
import {
  revocationReport,
  revocationRow,
  type RevocationFacts,
  type RevocationReport,
  type RevocationReportQuery,
  type RevocationRow,
} from '../../workflows/domain/revocation-report';

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Each opt_out entry whose receipt (occurred_at) lies in [from, to), with the entry that settled its confirmation: the
 * opt_out_confirmation reply for the STOP's message id on the same contact and thread (activities/replies.ts
 * replySentEntry: evidence.inboundMessageId; workflows/contact.ts reply(): provider_replied, same evidence field;
 * replyFailed/replyWithheld, same field), preferring one that told the contact over a failure.
 *
 * The list row: ledger.ts insertEntry writes the opt_outs row (applyToOptOutList) in the very transaction that inserts
 * the opt_out entry, and recorded_at is that transaction's now(); so the opt-out is listed from recorded_at (visible at
 * its commit, moments later), and a retried append that inserts nothing changes neither.
 */
const PAGE_QUERY = `
  SELECT o.id::text AS id, o.entry_key AS "ledgerKey", o.contact, o.business_number AS "businessNumber", o.source,
    o.evidence->>'messageId' AS "messageId", o.workflow_id AS "workflowId", ${ISO('o.occurred_at')} AS "receivedAt",
    o.evidence->>'inForceAt' AS "inForceAt", ${ISO('o.recorded_at')} AS "listedAt",
    c.event AS "confirmationEvent", ${ISO('c.occurred_at')} AS "confirmationAt"
  FROM consent_ledger o
  LEFT JOIN LATERAL (
    SELECT event, occurred_at FROM consent_ledger c
    WHERE c.contact = o.contact
      AND c.event IN ('reply_sent', 'provider_replied', 'reply_failed', 'reply_withheld')
      AND c.source = 'opt_out_confirmation'
      AND c.evidence->>'inboundMessageId' = o.evidence->>'messageId'
      AND c.business_number IS NOT DISTINCT FROM o.business_number
    ORDER BY (c.event IN ('reply_sent', 'provider_replied')) DESC, c.occurred_at, c.id
    LIMIT 1
  ) c ON true
  WHERE o.event = 'opt_out' AND o.occurred_at >= $1::timestamptz AND o.occurred_at < $2::timestamptz
    AND ($3::bigint IS NULL OR (o.occurred_at, o.id) > (SELECT occurred_at, id FROM consent_ledger WHERE id = $3::bigint))
  ORDER BY o.occurred_at, o.id
  LIMIT $4`;

type Range = Pick<RevocationReportQuery, 'from' | 'to'>;

export class RevocationReports {
  constructor(
    private readonly pool: Pool,
    private readonly pageSize = 1000,
  ) {}

  /** Every opt-out received in the range, in the order received, a page at a time (keyset on occurred_at, id). */
  async *facts({ from, to }: Range): AsyncGenerator<RevocationFacts> {
    let after: string | null = null;
    for (;;) {
      const { rows }: { rows: (RevocationFacts & { id: string })[] } = await this.pool.query(PAGE_QUERY, [from, to, after, this.pageSize]);
      for (const { id: _id, ...facts } of rows) yield facts;
      if (rows.length < this.pageSize) return;
      after = rows.at(-1)!.id;
    }
  }

  /** The rows as the CSV export streams them, judged as of `now`. */
  async *rows(query: RevocationReportQuery, now: Date): AsyncGenerator<RevocationRow> {
    for await (const facts of this.facts(query)) yield revocationRow(facts, query, now);
  }

  /** The whole report: its percentiles need every row, so the rows are held (the CSV export streams them instead). */
  async report(query: RevocationReportQuery, now: Date): Promise<RevocationReport> {
    const rows: RevocationRow[] = [];
    for await (const row of this.rows(query, now)) rows.push(row);
    return revocationReport(query, rows, now);
  }
}
