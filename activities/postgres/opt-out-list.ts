/** The opt-out list (consent-rules.md §7): every contact whose opt-out is in force, as the actors recorded it. */
import type { Pool } from 'pg';
import type { OptOutRecord } from '../../workflows/domain/contact-state';
import type { OptOutSource } from '../../workflows/domain/schemas';
import { isPermanentDataError } from './errors';

export interface OptOutListEntry {
  phone: string;
  optedOutAt: string;
  /** empty (null) for imports and operator records without one */
  businessNumber: string | null;
  source: OptOutSource;
  recordedBy: string | null;
  reference: string | null;
  note: string | null;
  workflowId: string | null;
  runId: string | null;
}

export interface OptOutFilter {
  source?: OptOutSource;
  /** opted out at or after */
  from?: string;
  /** opted out before */
  to?: string;
}

export interface OptOutPage {
  optOuts: OptOutListEntry[];
  /** opaque: pass as `cursor` for the next page; null on the last page */
  nextCursor: string | null;
}

const COLUMNS = `phone, to_char(opted_out_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "optedOutAt",
  business_number AS "businessNumber", source, recorded_by AS "recordedBy", reference, note,
  workflow_id AS "workflowId", run_id AS "runId"`;

export class OptOutList {
  constructor(private readonly pool: Pool) {}

  async get(phone: string): Promise<OptOutListEntry | undefined> {
    const { rows } = await this.pool.query<OptOutListEntry>(`SELECT ${COLUMNS} FROM opt_outs WHERE phone = $1`, [phone]);
    return rows[0];
  }

  /** The records of those of these numbers that are on the list now, as a new actor run starts from them. */
  async entries(phones: string[]): Promise<Map<string, OptOutRecord>> {
    if (phones.length === 0) return new Map();
    const { rows } = await this.pool.query<OptOutListEntry>(`SELECT ${COLUMNS} FROM opt_outs WHERE phone = ANY($1)`, [phones]);
    return new Map(rows.map((row) => [row.phone, toOptOutRecord(row)]));
  }

  /** Oldest opt-out first; keyset paging on (opted_out_at, phone), so pages stay stable while the list grows. */
  async page(filter: OptOutFilter, { limit = 100, cursor }: { limit?: number; cursor?: string } = {}): Promise<OptOutPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.source) where.push(`source = ${param(filter.source)}`);
    if (filter.from) where.push(`opted_out_at >= ${param(filter.from)}`);
    if (filter.to) where.push(`opted_out_at < ${param(filter.to)}`);
    if (cursor) {
      const { at, phone } = decodeCursor(cursor);
      where.push(`(opted_out_at, phone) > (${param(at)}::timestamptz, ${param(phone)})`);
    }
    const { rows } = await this.pool
      .query<OptOutListEntry & { atExact: string }>(
        `SELECT ${COLUMNS}, opted_out_at::text AS "atExact" FROM opt_outs
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY opted_out_at, phone LIMIT ${param(limit + 1)}`,
        params,
      )
      .catch((error: unknown) => {
        // A cursor of the right shape can still name a day that does not exist (February 31st).
        if (cursor && isPermanentDataError(error)) throw new InvalidCursorError();
        throw error;
      });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      optOuts: page.map(({ atExact: _atExact, ...entry }) => entry),
      nextCursor: rows.length > limit && last ? encodeCursor(last.atExact, last.phone) : null,
    };
  }

  /** Every matching entry, a page at a time (for CSV export of any size). */
  async *all(filter: OptOutFilter, pageSize = 5000): AsyncGenerator<OptOutListEntry> {
    let cursor: string | undefined;
    for (;;) {
      const page = await this.page(filter, { limit: pageSize, cursor });
      yield* page.optOuts;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
    }
  }
}

/** The opt-out record a contact's new actor run starts from, when its earlier run was closed. */
export function toOptOutRecord(entry: OptOutListEntry): OptOutRecord {
  return {
    source: entry.source,
    at: entry.optedOutAt,
    businessNumber: entry.businessNumber,
    text: null,
    messageId: null,
    recordedBy: entry.recordedBy,
    reference: entry.reference,
    note: entry.note,
  };
}

// The cursor carries the exact timestamp text (microseconds), which the ISO form above would round.
function encodeCursor(at: string, phone: string): string {
  return Buffer.from(JSON.stringify([at, phone])).toString('base64url');
}

/** timestamptz as Postgres prints it in UTC sessions and others: 2026-11-27 10:00:00.123456+00, offsets to ±15:59. */
const CURSOR_AT = /^(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?[+-](0\d|1[0-5])(:[0-5]\d)?$/;

function decodeCursor(cursor: string): { at: string; phone: string } {
  try {
    const [at, phone] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    // Only what encodeCursor writes reaches SQL: Postgres' own timestamptz text, and an E.164 number.
    if (typeof at === 'string' && CURSOR_AT.test(at) && typeof phone === 'string' && /^\+[1-9]\d{6,14}$/.test(phone)) return { at, phone };
  } catch {
    // fall through
  }
  throw new InvalidCursorError();
}

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
  constructor() {
    super('cursor is not one this list returned');
  }
}
