/**
 * The evidence ledger (consent-rules.md §8): append-only, enforced by a trigger. Appending an opt-out or a
 * re-subscribe also keeps the opt-out list current, in the same transaction, so the two never disagree.
 */
import type { Pool, PoolClient } from 'pg';
import type { LedgerEntry, LedgerEvent } from '../../workflows/domain/ledger';

export interface LedgerRecord extends LedgerEntry {
  id: string;
  recordedAt: string;
}

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const COLUMNS = `id::text AS id, entry_key AS key, contact, event, ${ISO('occurred_at')} AS "occurredAt",
  ${ISO('recorded_at')} AS "recordedAt", business_number AS "businessNumber", source, evidence,
  workflow_id AS "workflowId", run_id AS "runId"`;

export interface HistoryPage {
  entries: LedgerRecord[];
  /** pass as `after` for the next page; null on the last page */
  next: string | null;
}

export class ConsentLedger {
  constructor(private readonly pool: Pool) {}

  /** Appends in order, in one transaction; entries already present (a retried append) are skipped. */
  async append(entries: LedgerEntry[]): Promise<{ inserted: number }> {
    if (entries.length === 0) return { inserted: 0 };
    const client = await this.pool.connect();
    let inserted = 0;
    try {
      await client.query('BEGIN');
      for (const entry of entries) {
        const { rowCount } = await client.query(
          `INSERT INTO consent_ledger (entry_key, contact, event, occurred_at, business_number, source, evidence, workflow_id, run_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (entry_key) DO NOTHING`,
          [entry.key, entry.contact, entry.event, entry.occurredAt, entry.businessNumber, entry.source, entry.evidence, entry.workflowId, entry.runId],
        );
        if (rowCount === 1) {
          inserted += 1;
          await applyToOptOutList(client, entry);
        }
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    return { inserted };
  }

  /**
   * The contact's ledger in the order things happened (not the order writers appended them: the actor and the
   * send activities write independently), in pages keyed by the last entry's id.
   */
  async history(contact: string, { limit = 200, after }: { limit?: number; after?: string } = {}): Promise<HistoryPage> {
    const { rows } = await this.pool.query<LedgerRecord>(
      `SELECT ${COLUMNS} FROM consent_ledger
       WHERE contact = $1 AND ($2::bigint IS NULL OR (occurred_at, id) > (SELECT occurred_at, id FROM consent_ledger WHERE id = $2::bigint))
       ORDER BY occurred_at, id LIMIT $3`,
      [contact, after ?? null, limit + 1],
    );
    const entries = rows.slice(0, limit);
    return { entries, next: rows.length > limit ? (entries.at(-1)?.id ?? null) : null };
  }

  async byEvent(contact: string, event: LedgerEvent): Promise<LedgerRecord[]> {
    const { rows } = await this.pool.query<LedgerRecord>(
      `SELECT ${COLUMNS} FROM consent_ledger WHERE contact = $1 AND event = $2 ORDER BY id`,
      [contact, event],
    );
    return rows;
  }
}

/** §7: the list holds each contact's opt-out in force; only a recorded re-subscribe (their START) takes it off. */
async function applyToOptOutList(client: PoolClient, entry: LedgerEntry): Promise<void> {
  if (entry.event === 'opt_out') {
    const evidence = entry.evidence as { recordedBy?: string | null; reference?: string | null; note?: string | null };
    await client.query(
      `INSERT INTO opt_outs (phone, opted_out_at, business_number, source, recorded_by, reference, note, ledger_key, workflow_id, run_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (phone) DO UPDATE SET opted_out_at = EXCLUDED.opted_out_at, business_number = EXCLUDED.business_number,
         source = EXCLUDED.source, recorded_by = EXCLUDED.recorded_by, reference = EXCLUDED.reference, note = EXCLUDED.note,
         ledger_key = EXCLUDED.ledger_key, workflow_id = EXCLUDED.workflow_id, run_id = EXCLUDED.run_id`,
      [
        entry.contact,
        entry.occurredAt,
        entry.businessNumber,
        entry.source,
        evidence.recordedBy ?? null,
        evidence.reference ?? null,
        evidence.note ?? null,
        entry.key,
        entry.workflowId,
        entry.runId,
      ],
    );
  } else if (entry.event === 'resubscribe') {
    await client.query('DELETE FROM opt_outs WHERE phone = $1', [entry.contact]);
  }
}
