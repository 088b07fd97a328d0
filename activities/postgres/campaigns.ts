/** Campaigns in Postgres: the campaign as submitted, and one row per recipient line with its one outcome. */
import type { Pool } from 'pg';
import {
  emptyCampaignCounts,
  type CampaignStatus,
  type CampaignTally,
  type HeldRecipients,
  type QuietHoursChoice,
  type RecipientStatus,
} from '../../workflows/domain/campaign';
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
  /** a promotional recipient due in its quiet hours: held until the window opens (the default), or refused (consent-rules.md §9) */
  onQuietHours?: QuietHoursChoice;
}

export interface CampaignRecord extends CampaignDefinition {
  onQuietHours: QuietHoursChoice;
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
  /** `held` is not final: the row is pending again once its quiet hours end (releaseHeld) */
  status: Exclude<RecipientStatus, 'pending' | 'invalid'>;
  code: string | null;
  reason: string | null;
  outboundMessageId: string | null;
  providerMessageId: string | null;
  /** held: when its window opens (ISO 8601); null otherwise */
  heldUntil?: string | null;
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
  /** held: when its quiet hours end and it is sent (or refused) then; null otherwise */
  heldUntil: string | null;
}

export interface RecipientPage {
  recipients: RecipientRecord[];
  nextCursor: string | null;
}

/** Rows are written in chunks: one statement per chunk keeps 100,000 recipients to a hundred round trips. */
const INSERT_CHUNK = 1000;

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const CAMPAIGN_COLUMNS = `id, from_numbers AS "fromNumbers", message_type AS "type", body, program, append_disclosures AS "appendDisclosures",
  rate_per_second AS "ratePerSecond", ${ISO('start_at')} AS "startAt", file_name AS "fileName", on_quiet_hours AS "onQuietHours", status,
  ${ISO('created_at')} AS "createdAt", ${ISO('completed_at')} AS "completedAt"`;

const RECIPIENT_COLUMNS = `line, value, phone AS "to", from_number AS "from", status, code, reason,
  outbound_message_id AS "outboundMessageId", provider_message_id AS "providerMessageId", ${ISO('decided_at')} AS "decidedAt",
  ${ISO('held_until')} AS "heldUntil"`;

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
        `INSERT INTO campaigns (id, from_numbers, message_type, body, program, append_disclosures, rate_per_second, start_at, file_name, on_quiet_hours, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
        [
          campaign.id,
          campaign.fromNumbers,
          campaign.type,
          campaign.body,
          campaign.program,
          campaign.appendDisclosures,
          campaign.ratePerSecond,
          campaign.startAt,
          campaign.fileName,
          campaign.onQuietHours ?? 'hold',
          status,
        ],
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

  /**
   * Exact counts, from the rows: whatever attempts ran or crashed, each recipient is counted once, by its outcome;
   * with when the first held recipient may go.
   */
  async counts(id: string): Promise<CampaignTally> {
    const { rows } = await this.pool.query<{ status: RecipientStatus; code: string | null; n: number; heldUntil: string | null }>(
      `SELECT status, code, count(*)::int AS n, ${ISO('min(held_until)')} AS "heldUntil"
       FROM campaign_recipients WHERE campaign_id = $1 GROUP BY status, code`,
      [id],
    );
    const counts: CampaignTally = { ...emptyCampaignCounts(), heldUntil: null };
    for (const { status, code, n, heldUntil } of rows) {
      counts.total += n;
      counts[status] += n;
      if (status === 'refused') counts.refusedByCode[code ?? 'UNKNOWN'] = (counts.refusedByCode[code ?? 'UNKNOWN'] ?? 0) + n;
      // ISO strings of one format compare as their times do.
      if (status === 'held' && heldUntil && (counts.heldUntil === null || heldUntil < counts.heldUntil)) counts.heldUntil = heldUntil;
    }
    return counts;
  }

  /** How many recipients are held for quiet hours, and when the first of them may go. */
  async heldRecipients(id: string): Promise<HeldRecipients> {
    const { rows } = await this.pool.query<HeldRecipients>(
      `SELECT count(*)::int AS held, ${ISO('min(held_until)')} AS earliest FROM campaign_recipients WHERE campaign_id = $1 AND status = 'held'`,
      [id],
    );
    return rows[0] ?? { held: 0, earliest: null };
  }

  /**
   * Held recipients whose window has opened (by the database's clock) are pending again, to be planned and sent
   * through the gate under the same key, which decides them again (a STOP meanwhile refuses). How many were released.
   */
  async releaseHeld(id: string): Promise<number> {
    const { rowCount } = await this.pool.query(
      `UPDATE campaign_recipients SET status = 'pending', code = NULL, reason = NULL, held_until = NULL
       WHERE campaign_id = $1 AND status = 'held' AND (held_until IS NULL OR held_until <= now())`,
      [id],
    );
    return rowCount ?? 0;
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
   * Cancellation: every undecided recipient the send gate never saw (no outbox row under its key), and every one
   * held for quiet hours (the gate decided not to send it yet, and no batch sends it now), becomes `cancelled`; the
   * pending ones the gate did see are returned, for their recorded outcome or the gate's last word.
   */
  async cancelUnclaimed(id: string): Promise<PendingRecipient[]> {
    // The outbox key is campaignSendKey's: campaign:<id>:<line>.
    await this.pool.query(
      `UPDATE campaign_recipients AS r SET status = 'cancelled', code = NULL, held_until = NULL, decided_at = now(),
         reason = CASE WHEN r.status = 'held' THEN 'the campaign was cancelled while this recipient was held for quiet hours'
                       ELSE 'the campaign was cancelled before this recipient was sent to' END
       WHERE r.campaign_id = $1
         AND (r.status = 'held'
              OR (r.status = 'pending'
                  AND NOT EXISTS (SELECT 1 FROM outbound_messages o WHERE o.idempotency_key = 'campaign:' || r.campaign_id || ':' || r.line)))`,
      [id],
    );
    return this.pendingRecipients(id, 0, 2 ** 31 - 1);
  }

  /**
   * A recipient's one outcome: written once, while it is pending; a second writer (a retried attempt) changes nothing.
   * A hold is written the same way but decides nothing (no decided_at): the row is pending again once released.
   */
  async recordOutcomes(id: string, outcomes: RecipientOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    await this.pool.query(
      `UPDATE campaign_recipients AS r
       SET status = o.status, code = o.code, reason = o.reason, outbound_message_id = o.outbound_message_id,
           provider_message_id = o.provider_message_id, held_until = o.held_until,
           decided_at = CASE WHEN o.status = 'held' THEN NULL ELSE now() END
       FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
         AS o(line, status, code, reason, outbound_message_id, provider_message_id, held_until)
       WHERE r.campaign_id = $1 AND r.line = o.line AND r.status = 'pending'`,
      [
        id,
        outcomes.map((o) => o.line),
        outcomes.map((o) => o.status),
        outcomes.map((o) => o.code),
        outcomes.map((o) => o.reason),
        outcomes.map((o) => o.outboundMessageId),
        outcomes.map((o) => o.providerMessageId),
        outcomes.map((o) => (o.status === 'held' ? (o.heldUntil ?? null) : null)),
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
