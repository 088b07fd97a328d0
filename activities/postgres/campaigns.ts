/** Campaigns in Postgres: the campaign as submitted, and one row per recipient line with its one outcome. */
import type { Pool } from 'pg';
import { emptyCampaignCounts, type CampaignCounts, type CampaignStatus, type RecipientStatus } from '../../workflows/domain/campaign';
import type { MessageType } from '../../workflows/domain/schemas';

export interface CampaignDefinition {
  id: string;
  fromNumbers: string[];
  type: MessageType;
  body: string;
  program: string | null;
  appendDisclosures: boolean;
  ratePerSecond: number | null;
  startAt: string | null;
  fileName: string | null;
}

export interface CampaignRecord extends CampaignDefinition {
  status: CampaignStatus;
  createdAt: string;
  completedAt: string | null;
}

/** A recipient as submitted: valid (with its number, business number and text) or invalid (with why). */
export type NewRecipient =
  | { line: number; value: string; phone: string; fromNumber: string; body: string; status: 'pending' }
  /** phone: the number, when it was one (a duplicate, a missing variable) */
  | { line: number; value: string; phone?: string; status: 'invalid'; reason: string };

/** A recipient to send to, as the batch activity reads it. */
export interface PendingRecipient {
  line: number;
  phone: string;
  fromNumber: string;
  body: string;
}

export interface RecipientOutcome {
  line: number;
  status: Exclude<RecipientStatus, 'pending' | 'invalid'>;
  code: string | null;
  reason: string | null;
  outboundMessageId: string | null;
  providerMessageId: string | null;
}

export interface RecipientRecord {
  line: number;
  value: string;
  to: string | null;
  from: string | null;
  status: RecipientStatus;
  code: string | null;
  reason: string | null;
  outboundMessageId: string | null;
  providerMessageId: string | null;
  decidedAt: string | null;
}

export interface RecipientPage {
  recipients: RecipientRecord[];
  nextCursor: string | null;
}

/** Rows are written in chunks: one statement per chunk keeps 100,000 recipients to a hundred round trips. */
const INSERT_CHUNK = 1000;

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const CAMPAIGN_COLUMNS = `id, from_numbers AS "fromNumbers", message_type AS "type", body, program, append_disclosures AS "appendDisclosures",
  rate_per_second AS "ratePerSecond", ${ISO('start_at')} AS "startAt", file_name AS "fileName", status,
  ${ISO('created_at')} AS "createdAt", ${ISO('completed_at')} AS "completedAt"`;

const RECIPIENT_COLUMNS = `line, value, phone AS "to", from_number AS "from", status, code, reason,
  outbound_message_id AS "outboundMessageId", provider_message_id AS "providerMessageId", ${ISO('decided_at')} AS "decidedAt"`;

export class Campaigns {
  constructor(private readonly pool: Pool) {}

  /**
   * Stores the campaign and every recipient in one transaction, once per id: the same id again keeps the first
   * (an idempotent re-submit), and a crash midway leaves no campaign with half its recipients.
   */
  async create(campaign: CampaignDefinition, status: CampaignStatus, recipients: NewRecipient[]): Promise<{ created: boolean }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rowCount } = await client.query(
        `INSERT INTO campaigns (id, from_numbers, message_type, body, program, append_disclosures, rate_per_second, start_at, file_name, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
        [campaign.id, campaign.fromNumbers, campaign.type, campaign.body, campaign.program, campaign.appendDisclosures, campaign.ratePerSecond, campaign.startAt, campaign.fileName, status],
      );
      if (rowCount !== 1) {
        await client.query('ROLLBACK');
        return { created: false };
      }
      for (let start = 0; start < recipients.length; start += INSERT_CHUNK) {
        const chunk = recipients.slice(start, start + INSERT_CHUNK);
        await client.query(
          `INSERT INTO campaign_recipients (campaign_id, line, value, phone, from_number, body, status, reason)
           SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
          [
            campaign.id,
            chunk.map((row) => row.line),
            chunk.map((row) => row.value),
            chunk.map((row) => row.phone ?? null),
            chunk.map((row) => (row.status === 'pending' ? row.fromNumber : null)),
            chunk.map((row) => (row.status === 'pending' ? row.body : null)),
            chunk.map((row) => row.status),
            chunk.map((row) => (row.status === 'invalid' ? row.reason : null)),
          ],
        );
      }
      await client.query('COMMIT');
      return { created: true };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async get(id: string): Promise<CampaignRecord | undefined> {
    const { rows } = await this.pool.query<CampaignRecord>(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1`, [id]);
    return rows[0];
  }

  /** The workflow writes each change of status, so the campaign reads right after Temporal's retention dropped it. */
  async recordStatus(id: string, status: CampaignStatus): Promise<void> {
    await this.pool.query(
      `UPDATE campaigns SET status = $2,
         halt_requested = CASE WHEN $2 = 'running' THEN false ELSE halt_requested END,
         completed_at = CASE WHEN $2 IN ('completed', 'cancelled') THEN coalesce(completed_at, now()) ELSE completed_at END
       WHERE id = $1`,
      [id, status],
    );
  }

  /** A pause or a cancellation: every batch stops before its next send. Running again (recordStatus) clears it. */
  async requestHalt(id: string): Promise<void> {
    await this.pool.query('UPDATE campaigns SET halt_requested = true WHERE id = $1', [id]);
  }

  async haltRequested(id: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ halt: boolean }>('SELECT halt_requested AS halt FROM campaigns WHERE id = $1', [id]);
    return rows[0]?.halt ?? true;
  }

  /** Exact counts, from the rows: whatever attempts ran or crashed, each recipient is counted once, by its outcome. */
  async counts(id: string): Promise<CampaignCounts> {
    const { rows } = await this.pool.query<{ status: RecipientStatus; code: string | null; n: number }>(
      `SELECT status, code, count(*)::int AS n FROM campaign_recipients WHERE campaign_id = $1 GROUP BY status, code`,
      [id],
    );
    const counts = emptyCampaignCounts();
    for (const { status, code, n } of rows) {
      counts.total += n;
      counts[status] += n;
      if (status === 'refused') counts.refusedByCode[code ?? 'UNKNOWN'] = (counts.refusedByCode[code ?? 'UNKNOWN'] ?? 0) + n;
    }
    return counts;
  }

  /** The line ranges of the next batches of undecided recipients after `afterLine` (two numbers a batch, never the rows). */
  async nextBatches(id: string, afterLine: number, batchSize: number, batches: number): Promise<{ firstLine: number; lastLine: number }[]> {
    const { rows } = await this.pool.query<{ line: number }>(
      `SELECT line FROM campaign_recipients WHERE campaign_id = $1 AND status = 'pending' AND line > $2 ORDER BY line LIMIT $3`,
      [id, afterLine, batchSize * batches],
    );
    const ranges: { firstLine: number; lastLine: number }[] = [];
    for (let start = 0; start < rows.length; start += batchSize) {
      const chunk = rows.slice(start, start + batchSize);
      ranges.push({ firstLine: chunk[0]!.line, lastLine: chunk.at(-1)!.line });
    }
    return ranges;
  }

  /** The undecided recipients of lines firstLine..lastLine, in line order. */
  async pendingRecipients(id: string, firstLine: number, lastLine: number): Promise<PendingRecipient[]> {
    const { rows } = await this.pool.query<PendingRecipient>(
      `SELECT line, phone, from_number AS "fromNumber", body FROM campaign_recipients
       WHERE campaign_id = $1 AND status = 'pending' AND line BETWEEN $2 AND $3 ORDER BY line`,
      [id, firstLine, lastLine],
    );
    return rows;
  }

  /**
   * Cancellation: every undecided recipient the send gate never saw (no outbox row under its key) becomes
   * `cancelled`; the ones it did see are returned, for their recorded outcome or the gate's last word.
   */
  async cancelUnclaimed(id: string): Promise<PendingRecipient[]> {
    // The outbox key is campaignSendKey's: campaign:<id>:<line>.
    await this.pool.query(
      `UPDATE campaign_recipients AS r SET status = 'cancelled', reason = 'the campaign was cancelled before this recipient was sent to', decided_at = now()
       WHERE r.campaign_id = $1 AND r.status = 'pending'
         AND NOT EXISTS (SELECT 1 FROM outbound_messages o WHERE o.idempotency_key = 'campaign:' || r.campaign_id || ':' || r.line)`,
      [id],
    );
    return this.pendingRecipients(id, 0, 2 ** 31 - 1);
  }

  /** A recipient's one outcome: written once, while it is pending; a second writer (a retried attempt) changes nothing. */
  async recordOutcomes(id: string, outcomes: RecipientOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    await this.pool.query(
      `UPDATE campaign_recipients AS r
       SET status = o.status, code = o.code, reason = o.reason, outbound_message_id = o.outbound_message_id,
           provider_message_id = o.provider_message_id, decided_at = now()
       FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
         AS o(line, status, code, reason, outbound_message_id, provider_message_id)
       WHERE r.campaign_id = $1 AND r.line = o.line AND r.status = 'pending'`,
      [
        id,
        outcomes.map((o) => o.line),
        outcomes.map((o) => o.status),
        outcomes.map((o) => o.code),
        outcomes.map((o) => o.reason),
        outcomes.map((o) => o.outboundMessageId),
        outcomes.map((o) => o.providerMessageId),
      ],
    );
  }

  /** Recipients in line order, a page at a time; the cursor is the last line of the previous page. */
  async recipients(id: string, { status, limit, cursor }: { status?: RecipientStatus; limit: number; cursor?: string }): Promise<RecipientPage> {
    const { rows } = await this.pool.query<RecipientRecord>(
      `SELECT ${RECIPIENT_COLUMNS} FROM campaign_recipients
       WHERE campaign_id = $1 AND line > $2 AND ($3::text IS NULL OR status = $3) ORDER BY line LIMIT $4`,
      [id, cursor === undefined ? 0 : Number(cursor), status ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return { recipients: page, nextCursor: rows.length > limit && page.length > 0 ? String(page.at(-1)!.line) : null };
  }

  /** Every recipient (of one status, or all), for CSV export of any size. */
  async *allRecipients(id: string, status?: RecipientStatus, pageSize = 5000): AsyncGenerator<RecipientRecord> {
    let cursor: string | undefined;
    for (;;) {
      const page = await this.recipients(id, { status, limit: pageSize, cursor });
      yield* page.recipients;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
    }
  }
}
