/**
 * The evidence ledger (consent-rules.md §8): append-only, enforced by a trigger. Appending an opt-out or a
 * re-subscribe also keeps the opt-out list current, in the same transaction, so the two never disagree.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { LedgerEntry, LedgerEvent } from '../../workflows/domain/ledger';
import { isStorableText, storableText, timestampProblem } from '../../workflows/domain/storable';
import { isPermanentDataError, sqlState } from './errors';
import { inTransaction } from './pool';

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

  /**
   * Appends in order, in one transaction; entries already present (a retried append) are skipped. Every entry is
   * made storable first (storableEntry). Should Postgres still refuse one for its data, that entry alone is stored in
   * its minimal form, the original kept as base64, so a poison entry never blocks the ones after it, nor its actor.
   * Connection and server errors are thrown, for Temporal to retry.
   */
  async append(entries: LedgerEntry[]): Promise<{ inserted: number; sanitised: number }> {
    if (entries.length === 0) return { inserted: 0, sanitised: 0 };
    const now = new Date();
    const storable = entries.map((entry) => storableEntry(entry, now));
    let inserted = 0;
    let sanitised = storable.filter((entry) => entry.evidence[SANITISED_KEY] !== undefined).length;
    await inTransaction(this.pool, async (client) => {
      for (const entry of storable) {
        await client.query('SAVEPOINT entry');
        try {
          inserted += await insertEntry(client, entry);
        } catch (error) {
          if (!isPermanentDataError(error)) throw error;
          await client.query('ROLLBACK TO SAVEPOINT entry');
          inserted += await insertEntry(client, minimalEntry(entry, error, now));
          sanitised += 1;
        }
        await client.query('RELEASE SAVEPOINT entry');
      }
    });
    return { inserted, sanitised };
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

async function insertEntry(client: PoolClient, entry: LedgerEntry): Promise<number> {
  const { rowCount } = await client.query(
    `INSERT INTO consent_ledger (entry_key, contact, event, occurred_at, business_number, source, evidence, workflow_id, run_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (entry_key) DO NOTHING`,
    [entry.key, entry.contact, entry.event, entry.occurredAt, entry.businessNumber, entry.source, entry.evidence, entry.workflowId, entry.runId],
  );
  if (rowCount !== 1) return 0;
  await applyToOptOutList(client, entry);
  return 1;
}

/** Where an entry that had to be changed to be stored says what was changed (consent-rules.md §8: never dropped). */
export const SANITISED_KEY = 'storageAdjustments';

export interface StorageAdjustments {
  /** each changed field or evidence path, and how */
  changes: { field: string; change: string; original?: string }[];
  /** the evidence exactly as the actor decided it, JSON (with \u escapes), base64 */
  originalEvidenceBase64?: string;
}

/**
 * The entry as Postgres can hold it: NUL and lone surrogates in any text become U+FFFD; an occurredAt that is not a
 * storable instant becomes the time of writing. What changed is named in evidence.storageAdjustments, with the
 * original evidence in base64. Deterministic, so a retried append writes the same row (the key is kept, made storable).
 */
export function storableEntry(entry: LedgerEntry, now: Date): LedgerEntry {
  const changes: StorageAdjustments['changes'] = [];
  const text = <T extends string | null>(field: string, value: T): T => {
    if (value === null || isStorableText(value)) return value;
    changes.push({ field, change: 'NUL or lone surrogate replaced by U+FFFD' });
    return storableText(value) as T;
  };
  let occurredAt = entry.occurredAt;
  const problem = typeof occurredAt === 'string' ? timestampProblem(occurredAt) : 'is not a string';
  if (problem) {
    changes.push({ field: 'occurredAt', change: `${problem}: replaced by the time it was written`, original: storableText(String(occurredAt)).slice(0, 100) });
    occurredAt = now.toISOString();
  }
  const evidenceChanges: string[] = [];
  const evidence = storableJson(entry.evidence, 'evidence', evidenceChanges) as Record<string, unknown>;
  for (const field of evidenceChanges) changes.push({ field, change: 'NUL or lone surrogate replaced by U+FFFD' });
  const result: LedgerEntry = {
    ...entry,
    key: text('key', entry.key),
    contact: text('contact', entry.contact),
    businessNumber: text('businessNumber', entry.businessNumber),
    source: text('source', entry.source),
    workflowId: text('workflowId', entry.workflowId),
    runId: text('runId', entry.runId),
    occurredAt,
    evidence,
  };
  if (changes.length === 0) return entry;
  const adjustments: StorageAdjustments = {
    changes,
    ...(evidenceChanges.length > 0 ? { originalEvidenceBase64: Buffer.from(JSON.stringify(entry.evidence), 'utf8').toString('base64') } : {}),
  };
  return { ...result, evidence: { ...evidence, [SANITISED_KEY]: adjustments } };
}

/** A deep copy whose every string (keys too) is storable; the paths changed are pushed onto `changed`. */
function storableJson(value: unknown, path: string, changed: string[]): unknown {
  if (typeof value === 'string') {
    if (isStorableText(value)) return value;
    changed.push(path);
    return storableText(value);
  }
  if (Array.isArray(value)) return value.map((item, index) => storableJson(item, `${path}.${index}`, changed));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        const storableKey = storableText(key);
        if (storableKey !== key) changed.push(`${path}.${storableKey}`);
        return [storableKey, storableJson(item, `${path}.${storableKey}`, changed)];
      }),
    );
  }
  return value;
}

const MAX_INDEXED_TEXT = 512;

/** The last resort for an entry Postgres refused even when storable: what happened, and the whole entry in base64. */
function minimalEntry(entry: LedgerEntry, error: unknown, now: Date): LedgerEntry {
  const adjustments: StorageAdjustments = {
    changes: [{ field: 'evidence', change: `refused by Postgres (${sqlState(error)}: ${error instanceof Error ? error.message : String(error)}); stored as base64` }],
    originalEvidenceBase64: Buffer.from(JSON.stringify(entry), 'utf8').toString('base64'),
  };
  return {
    // A B-tree entry holds about 2.7 kB (54000 beyond): long keys are stored by their digest, the rest truncated.
    key: entry.key.length > MAX_INDEXED_TEXT ? `sha256:${createHash('sha256').update(entry.key).digest('hex')}` : entry.key,
    contact: entry.contact.slice(0, MAX_INDEXED_TEXT),
    event: entry.event,
    occurredAt: timestampProblem(entry.occurredAt) ? now.toISOString() : entry.occurredAt,
    businessNumber: null,
    source: entry.source,
    evidence: { [SANITISED_KEY]: adjustments },
    workflowId: entry.workflowId,
    runId: entry.runId,
  };
}
