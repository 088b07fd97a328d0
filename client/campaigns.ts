/**
 * The typed client library for campaigns: every call validates its input with the shared campaign schemas
 * (workflows/domain/campaign.ts), stores the campaign and its recipients in Postgres, and talks to the campaign
 * workflow (`campaign:<campaignId>`) through Temporal.
 */
import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Pool } from 'pg';
import type { z } from 'zod';
import { Campaigns, type CampaignRecord, type NewRecipient, type RecipientPage, type RecipientRecord } from '../activities/postgres/campaigns';
import { Programs } from '../activities/postgres/programs';
import {
  campaignSchemas,
  campaignWorkflowId,
  completeCampaignCounts,
  isVariableName,
  recipientBodyProblem,
  type CampaignCounts,
  type CampaignCsvOptionsInput,
  type CampaignProgress,
  type CampaignSchemas,
  type CampaignStatus,
  type CreateCampaignInput,
  type RecipientsPageInput,
} from '../workflows/domain/campaign';
import { describeIssues } from '../workflows/domain/schemas';
import { storableText } from '../workflows/domain/storable';
import { campaignWorkflow } from '../workflows/campaign';
import { cancelCampaignUpdate, pauseCampaignUpdate, resumeCampaignUpdate } from '../workflows/messages';
import { InvalidInputError, NotFoundError } from './consent-client';
import { edgeSchemas } from './schemas';

export interface CampaignClientOptions {
  client: Client;
  taskQueue: string;
  pool: Pool;
  /** phone numbers in national format are read with this country (consent-rules.md §1); default US */
  defaultCountry?: string;
}

/** The campaign's schemas with the edge's phone, body and program fields (one schema per input, shared with the HTTP API and the CLI). */
export function campaignEdgeSchemas(defaultCountry: string): CampaignSchemas {
  const edge = edgeSchemas(defaultCountry);
  return campaignSchemas({ phone: edge.phone, body: edge.sendMessage.shape.body, program: edge.sendMessage.shape.program });
}

/** The campaign cannot do that in its state (pause a completed campaign): 409. */
export class CampaignStateError extends Error {
  override readonly name = 'CampaignStateError';
  readonly statusCode = 409;
}

export interface InvalidRecipient {
  line: number;
  value: string;
  reason: string;
}

export interface CampaignCreated {
  campaignId: string;
  workflowId: string;
  /** false: a campaign with this id already existed, and that one stands (nothing new was stored or started) */
  created: boolean;
  status: CampaignStatus;
  counts: CampaignCounts;
  /** the first invalid rows, by line with the reason */
  invalidRows: InvalidRecipient[];
}

export interface CampaignReport extends Omit<CampaignRecord, 'id'> {
  campaignId: string;
  workflowId: string;
  counts: CampaignCounts;
  /** when the first recipient held for quiet hours is sent (or refused); null: none is held */
  heldUntil: string | null;
}

/** Columns of a campaign's recipients export (HTTP and CLI), in order. */
export const CAMPAIGN_RECIPIENT_CSV_COLUMNS = ['line', 'to', 'from', 'status', 'code', 'reason', 'outboundMessageId', 'providerMessageId', 'decidedAt', 'value', 'heldUntil'] as const;

/** How many invalid rows an answer lists (all of them are in the recipients listing, `status=invalid`). */
const INVALID_ROWS_SHOWN = 100;
/** How many an error for a campaign with no valid row quotes. */
const INVALID_ROWS_QUOTED = 10;
/** The header names a CSV's number column is found by, unless `column` says otherwise. */
const PHONE_COLUMNS = ['to', 'phone'];

interface SubmittedRow {
  line: number;
  value: string;
  recipient: unknown;
}

export class CampaignClient {
  readonly schemas: CampaignSchemas;
  private readonly campaigns: Campaigns;
  private readonly programs: Programs;

  constructor(private readonly options: CampaignClientOptions) {
    this.schemas = campaignEdgeSchemas(options.defaultCountry ?? 'US');
    this.campaigns = new Campaigns(options.pool);
    this.programs = new Programs(options.pool);
  }

  /** Starts a campaign from a list of recipients (line = 1-based position in the list). The same campaignId twice is one campaign. */
  async createCampaign(input: CreateCampaignInput): Promise<CampaignCreated> {
    const { recipients, ...fields } = parse(this.schemas.createCampaign, input);
    const rows = recipients.map((recipient, index): SubmittedRow => {
      const to = (recipient as { to?: unknown } | null)?.to;
      return { line: index + 1, value: typeof to === 'string' ? to : JSON.stringify(to ?? null), recipient };
    });
    return this.start({ ...fields, column: undefined, fileName: undefined }, rows, 'recipients');
  }

  /**
   * Starts a campaign from a CSV file with a header row: the `to` (or `phone`, or `column`) column holds the numbers,
   * every other column is a variable of that name; an empty cell is a missing variable. Lines are the file's lines.
   */
  async createCampaignFromCsv(content: string, options: CampaignCsvOptionsInput): Promise<CampaignCreated> {
    const fields = parse(this.schemas.campaignCsvOptions, options);
    return this.start(fields, readCampaignCsv(content, fields.column), 'file');
  }

  /** The campaign as stored, with exact counts (live while it runs) and when its first held recipient may go. */
  async getCampaign(campaignId: string): Promise<CampaignReport> {
    const campaign = await this.requireCampaign(campaignId);
    const { id, ...rest } = campaign;
    const { heldUntil, ...counts } = await this.campaigns.counts(id);
    return { campaignId: id, workflowId: campaignWorkflowId(id), ...rest, counts, heldUntil };
  }

  /**
   * The newest campaigns first, each with its counts as getCampaign gives them, a page at a time (`nextCursor`). The
   * operator console lists them; the ids come from the campaigns table, so finished ones stay listed after Temporal's
   * retention dropped their workflows.
   */
  async listCampaigns({ limit = 50, cursor }: { limit?: number; cursor?: string } = {}): Promise<{ campaigns: CampaignReport[]; nextCursor: string | null }> {
    const after = cursor === undefined ? undefined : readListCursor(cursor);
    const { rows } = await this.options.pool.query<{ id: string; at: string }>(
      `SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM campaigns
       WHERE $2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::text)
       ORDER BY created_at DESC, id DESC LIMIT $1`,
      [Math.min(Math.max(limit, 1), 200) + 1, after?.at ?? null, after?.id ?? ''],
    );
    const page = rows.slice(0, Math.min(Math.max(limit, 1), 200));
    const last = page.at(-1);
    return {
      campaigns: await Promise.all(page.map(({ id }) => this.getCampaign(id))),
      nextCursor: rows.length > page.length && last ? Buffer.from(JSON.stringify([last.at, last.id])).toString('base64url') : null,
    };
  }

  /** Per-recipient outcomes in line order, a page at a time (`nextCursor`), optionally of one status. */
  async listRecipients(campaignId: string, query: RecipientsPageInput = {}): Promise<RecipientPage> {
    const { status, limit, cursor } = parse(this.schemas.recipientsPage, query);
    const campaign = await this.requireCampaign(campaignId);
    return this.campaigns.recipients(campaign.id, { status, limit, cursor });
  }

  /** Every recipient's outcome (of one status, or all), for CSV export of any size. */
  async *exportRecipients(campaignId: string, query: RecipientsPageInput = {}): AsyncGenerator<RecipientRecord> {
    const { status } = parse(this.schemas.recipientsPage, query);
    const campaign = await this.requireCampaign(campaignId);
    yield* this.campaigns.allRecipients(campaign.id, status);
  }

  /** Stops sending; answers once the sends in flight have finished (nothing more goes out until resume). */
  async pause(campaignId: string): Promise<CampaignProgress> {
    return this.update(campaignId, pauseCampaignUpdate);
  }

  async resume(campaignId: string): Promise<CampaignProgress> {
    return this.update(campaignId, resumeCampaignUpdate);
  }

  /** Stops for good; answers once every recipient not yet sent to is `cancelled`. */
  async cancel(campaignId: string): Promise<CampaignProgress> {
    return this.update(campaignId, cancelCampaignUpdate);
  }

  /** Waits for the campaign to complete (or be cancelled) and returns its final counts. */
  async waitForCampaign(campaignId: string): Promise<CampaignProgress> {
    const campaign = await this.requireCampaign(campaignId);
    return completeProgress(await this.options.client.workflow.getHandle<typeof campaignWorkflow>(campaignWorkflowId(campaign.id)).result());
  }

  private async start(
    fields: Omit<z.output<CampaignSchemas['campaignCsvOptions']>, 'column'> & { column?: string },
    rows: SubmittedRow[],
    rowsField: 'recipients' | 'file',
  ): Promise<CampaignCreated> {
    const campaignId = fields.campaignId ?? randomUUID();
    const workflowId = campaignWorkflowId(campaignId);
    // The same id again is the campaign already stored: its recipients stand, this request's are not read.
    const existing = await this.campaigns.get(campaignId);
    if (existing) return this.describeCreated(existing, false);
    if (fields.program && !(await this.programs.get(fields.program))) {
      throw new InvalidInputError([{ field: 'program', message: `program "${fields.program}" is not declared (POST /v1/programs)` }]);
    }
    const recipients = this.checkRecipients(fields.body, fields.from, rows);
    if (!recipients.some((row) => row.status === 'pending')) {
      const invalid = recipients.filter((row): row is Extract<NewRecipient, { status: 'invalid' }> => row.status === 'invalid');
      const quoted = invalid.slice(0, INVALID_ROWS_QUOTED).map((row) => `line ${row.line}: ${row.reason}`);
      throw new InvalidInputError([
        {
          field: rowsField,
          message: `no recipient can be sent to (${invalid.length} invalid): ${quoted.join('; ')}${invalid.length > quoted.length ? '; …' : ''}`,
        },
      ]);
    }
    const startAt = fields.startAt ?? null;
    const status: CampaignStatus = startAt && Date.parse(startAt) > Date.now() ? 'scheduled' : 'running';
    const definition = {
      id: campaignId,
      fromNumbers: fields.from,
      type: fields.type,
      body: fields.body,
      program: fields.program,
      appendDisclosures: fields.appendDisclosures,
      ratePerSecond: fields.ratePerSecond ?? null,
      startAt,
      fileName: fields.fileName ?? null,
      onQuietHours: fields.onQuietHours,
    };
    const { created } = await this.campaigns.create(definition, status, recipients);
    try {
      await this.options.client.workflow.start(campaignWorkflow, {
        workflowId,
        taskQueue: this.options.taskQueue,
        args: [{ campaignId, startAt, ratePerSecond: definition.ratePerSecond }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `${fields.type} campaign ${fields.fileName ?? campaignId}: ${recipients.length} recipients from ${fields.from.join(', ')}`,
        staticDetails:
          `Sends "${fields.body.slice(0, 200)}" to each recipient through the send gate, ${definition.ratePerSecond ? `${definition.ratePerSecond}/s per business number` : 'unpaced'}` +
          `${startAt ? `, from ${startAt}` : ''}; a promotional recipient in its quiet hours is ${fields.onQuietHours === 'refuse' ? 'refused' : 'held until its window opens'}. ` +
          'Query `progress`; updates `pause`, `resume`, `cancel`.',
      });
    } catch (error) {
      // A re-submit after a crash between the two steps starts what the first left unstarted; a started one stands.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
    const stored = await this.requireCampaign(campaignId);
    return this.describeCreated(stored, created);
  }

  /** Each row on its own: the number (the edge's phone schema), the variables, the filled-in text, and duplicates. */
  private checkRecipients(template: string, fromNumbers: string[], rows: SubmittedRow[]): NewRecipient[] {
    const firstLineOf = new Map<string, number>();
    let valid = 0;
    return rows.map(({ line, value, recipient }): NewRecipient => {
      const storedValue = storableText(value.slice(0, 200));
      const parsed = this.schemas.recipient.safeParse(recipient);
      if (!parsed.success) {
        // The reason may quote the value: what no store can hold becomes U+FFFD there too.
        const reason = describeIssues(parsed.error).map(({ field, message }) => `${field}: ${message}`).join('; ');
        return { line, value: storedValue, status: 'invalid', reason: storableText(reason.slice(0, 1000)) };
      }
      const { to, variables } = parsed.data;
      const earlier = firstLineOf.get(to);
      if (earlier !== undefined) return { line, value: storedValue, phone: to, status: 'invalid', reason: `${to} is a duplicate of line ${earlier}: it gets one message` };
      const body = recipientBodyProblem(template, variables);
      if ('reason' in body) return { line, value: storedValue, phone: to, status: 'invalid', reason: body.reason };
      firstLineOf.set(to, line);
      // Round-robin: each business number sends an equal share, in line order.
      const fromNumber = fromNumbers[valid % fromNumbers.length]!;
      valid += 1;
      return { line, value: storedValue, phone: to, fromNumber, body: body.body, status: 'pending' };
    });
  }

  private async describeCreated(campaign: CampaignRecord, created: boolean): Promise<CampaignCreated> {
    const [{ heldUntil: _heldUntil, ...counts }, invalid] = await Promise.all([
      this.campaigns.counts(campaign.id),
      this.campaigns.recipients(campaign.id, { status: 'invalid', limit: INVALID_ROWS_SHOWN }),
    ]);
    return {
      campaignId: campaign.id,
      workflowId: campaignWorkflowId(campaign.id),
      created,
      status: campaign.status,
      counts,
      invalidRows: invalid.recipients.map(({ line, value, reason }) => ({ line, value, reason: reason ?? '' })),
    };
  }

  private async requireCampaign(campaignId: string): Promise<CampaignRecord> {
    const { campaignId: id } = parse(this.schemas.campaignParams, { campaignId });
    const campaign = await this.campaigns.get(id);
    if (!campaign) throw new NotFoundError(`no campaign ${id}`);
    return campaign;
  }

  private async update(campaignId: string, update: typeof pauseCampaignUpdate): Promise<CampaignProgress> {
    const campaign = await this.requireCampaign(campaignId);
    const handle = this.options.client.workflow.getHandle<typeof campaignWorkflow>(campaignWorkflowId(campaign.id));
    try {
      return await handle.executeUpdate(update);
    } catch (error) {
      // The validator's refusal (a completed campaign cannot be paused) is the caller's to know, not a failure.
      if (error instanceof WorkflowUpdateFailedError) throw new CampaignStateError(error.cause?.message ?? error.message);
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    // The workflow has closed: its result is the campaign's last word (cancelling a cancelled campaign answers it).
    const final = await handle.result().then(completeProgress, () => undefined);
    const status = final?.status ?? campaign.status;
    if (final && update.name === cancelCampaignUpdate.name && status === 'cancelled') return final;
    const verb = { pause: 'paused', resume: 'resumed', cancel: 'cancelled' }[update.name] ?? update.name;
    throw new CampaignStateError(`campaign ${campaign.id} is ${status}: it cannot be ${verb}`);
  }
}

/** A campaign file: CSV with a header row; the number column by name (`column`, else `to` or `phone`), the rest variables. */
function readCampaignCsv(content: string, column: string | undefined): SubmittedRow[] {
  const nul = content.indexOf('\u0000');
  if (nul >= 0) {
    throw new InvalidInputError([{ field: 'file', message: `is not UTF-8 text: it has a NUL byte (line ${content.slice(0, nul).split('\n').length}), as binary and UTF-16 files do` }]);
  }
  // A lone surrogate (a string built in code, never decoded bytes) cannot be stored: U+FFFD makes its row invalid.
  content = storableText(content);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(content, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, relax_quotes: true, info: true }) as unknown as typeof records;
  } catch (error) {
    throw new InvalidInputError([{ field: 'file', message: `is not readable as CSV: ${(error as Error).message}` }]);
  }
  const nonBlank = records.filter(({ record }) => record.some((cell) => cell !== ''));
  const header = nonBlank[0]?.record;
  if (!header) throw new InvalidInputError([{ field: 'file', message: 'is empty: a campaign file has a header row (to, then a column per variable) and a row per recipient' }]);
  const wanted = column ? [column.trim().toLowerCase()] : PHONE_COLUMNS;
  const phoneIndex = header.findIndex((cell) => wanted.includes(cell.toLowerCase()));
  if (phoneIndex < 0) {
    throw new InvalidInputError([
      {
        field: column ? 'column' : 'file',
        message: `${column ? `"${column}" is` : 'neither "to" nor "phone" is'} in the header row (${header.map((cell) => `"${cell}"`).join(', ')}): the header names the number column and the variables`,
      },
    ]);
  }
  const variableColumns = header.map((name, index) => ({ name, index })).filter(({ name, index }) => index !== phoneIndex && isVariableName(name));
  return nonBlank.slice(1).map(({ record, info }) => {
    const value = record[phoneIndex] ?? '';
    const variables: Record<string, string> = {};
    for (const { name, index } of variableColumns) {
      const cell = record[index];
      if (cell !== undefined && cell !== '') variables[name] = cell;
    }
    return { line: info.lines, value, recipient: { to: value, variables } };
  });
}

/** A listCampaigns cursor: the created time (microseconds) and id of the last campaign of the page before. */
function readListCursor(cursor: string): { at: string; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(at))) return { at, id };
  } catch {
    // falls through to the error below
  }
  throw new InvalidInputError([{ field: 'cursor', message: 'must be the nextCursor of a previous page' }]);
}

/** A campaign that ended before holds answered without `held` and `heldUntil`: callers get every field. */
function completeProgress(progress: CampaignProgress): CampaignProgress {
  return { ...progress, counts: completeCampaignCounts(progress.counts), heldUntil: progress.heldUntil ?? null };
}

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new InvalidInputError(describeIssues(result.error));
}
