/** Suppression-list imports in Postgres: the file as uploaded, and one row per data line with its outcome. */
import type { Pool } from 'pg';
import type { SuppressionRow } from '../suppression/csv';

export interface SuppressionImportFile {
  id: string;
  fileName: string | null;
  content: string;
  phoneColumn: string | null;
  recordedBy: string;
}

export type AppliedOutcome = 'opted_out' | 'already_opted_out';

export interface InvalidImportRow {
  line: number;
  value: string;
  reason: string;
}

/** Rows are written in chunks: one statement per chunk keeps a 100,000-row file to a hundred round trips. */
const INSERT_CHUNK = 1000;

export class SuppressionImports {
  constructor(private readonly pool: Pool) {}

  /** Stores the file once per id; the same id again keeps the first file (an idempotent re-submit). */
  async create(file: SuppressionImportFile): Promise<{ created: boolean }> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO suppression_imports (id, file_name, content, phone_column, recorded_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO NOTHING`,
      [file.id, file.fileName, file.content, file.phoneColumn, file.recordedBy],
    );
    return { created: rowCount === 1 };
  }

  async get(id: string): Promise<SuppressionImportFile | undefined> {
    const { rows } = await this.pool.query<SuppressionImportFile>(
      `SELECT id, file_name AS "fileName", content, phone_column AS "phoneColumn", recorded_by AS "recordedBy"
       FROM suppression_imports WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  /** Who imports it and from which file, without the file itself (read for every batch). */
  async describe(id: string): Promise<Pick<SuppressionImportFile, 'fileName' | 'recordedBy'> | undefined> {
    const { rows } = await this.pool.query<Pick<SuppressionImportFile, 'fileName' | 'recordedBy'>>(
      `SELECT file_name AS "fileName", recorded_by AS "recordedBy" FROM suppression_imports WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  /** Writes the parsed rows; a retried call (after a crash) finds them there and writes nothing twice. */
  async saveRows(importId: string, rows: SuppressionRow[]): Promise<void> {
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const chunk = rows.slice(start, start + INSERT_CHUNK);
      await this.pool.query(
        `INSERT INTO suppression_import_rows (import_id, line, value, phone, outcome, reason)
         SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[])
         ON CONFLICT (import_id, line) DO NOTHING`,
        [
          importId,
          chunk.map((row) => row.line),
          chunk.map((row) => row.value),
          chunk.map((row) => row.phone),
          chunk.map((row) => row.outcome),
          chunk.map((row) => ('reason' in row ? row.reason : null)),
        ],
      );
    }
  }

  /** The next valid rows after `afterLine`, in line order, with the outcome an earlier attempt may have stored. */
  async validRowsAfter(importId: string, afterLine: number, limit: number) {
    const { rows } = await this.pool.query<{ line: number; phone: string; outcome: 'pending' | AppliedOutcome }>(
      `SELECT line, phone, outcome FROM suppression_import_rows
       WHERE import_id = $1 AND line > $2 AND outcome IN ('pending', 'opted_out', 'already_opted_out')
       ORDER BY line LIMIT $3`,
      [importId, afterLine, limit],
    );
    return rows;
  }

  async recordOutcomes(importId: string, outcomes: { line: number; outcome: AppliedOutcome }[]): Promise<void> {
    if (outcomes.length === 0) return;
    await this.pool.query(
      `UPDATE suppression_import_rows AS r SET outcome = o.outcome
       FROM unnest($2::int[], $3::text[]) AS o(line, outcome)
       WHERE r.import_id = $1 AND r.line = o.line`,
      [importId, outcomes.map((o) => o.line), outcomes.map((o) => o.outcome)],
    );
  }

  async invalidRows(importId: string, { limit = 1000, afterLine = 0 } = {}): Promise<{ rows: InvalidImportRow[]; total: number }> {
    const [page, total] = await Promise.all([
      this.pool.query<InvalidImportRow>(
        `SELECT line, value, reason FROM suppression_import_rows WHERE import_id = $1 AND outcome = 'invalid' AND line > $2
         ORDER BY line LIMIT $3`,
        [importId, afterLine, limit],
      ),
      this.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM suppression_import_rows WHERE import_id = $1 AND outcome = 'invalid'`,
        [importId],
      ),
    ]);
    return { rows: page.rows, total: total.rows[0]?.n ?? 0 };
  }
}
