/**
 * A campaign: one message (a template with `{{variables}}`) to many recipients, each sent through the send gate and
 * given exactly one outcome. The shapes, the counts and the template rules, shared by the edges (HTTP, client
 * library, CLI) and the campaign workflow. Pure: runs inside the workflow sandbox as well as at the edges.
 */
import { MAX_MESSAGE_BODY_LENGTH, MESSAGE_TYPES, isoTimestampSchema, storableTextField } from './schemas';
import { unstorableReason } from './storable';
import { z } from './zod';

export type CampaignStatus = 'scheduled' | 'running' | 'paused' | 'completed' | 'cancelled';
export const CAMPAIGN_FINAL_STATUSES: readonly CampaignStatus[] = ['completed', 'cancelled'];

/**
 * A recipient's outcome: `pending` until decided; `held` waits for its quiet hours to end (consent-rules.md §9), then
 * is pending again; `invalid` rows were never sendable (bad number, missing variable).
 */
export const RECIPIENT_STATUSES = ['pending', 'held', 'sent', 'refused', 'failed', 'unknown', 'cancelled', 'invalid'] as const;
export type RecipientStatus = (typeof RECIPIENT_STATUSES)[number];

/** What the progress query, GET /v1/campaigns/:id and the CLI show: total = every other count added up. */
export interface CampaignCounts {
  /** recipients given (rows of the file or entries of the list), valid or not */
  total: number;
  sent: number;
  refused: number;
  /** the provider refused it for good */
  failed: number;
  /** it may have reached the provider, but no answer came (OUTCOME_UNKNOWN): never resent */
  unknown: number;
  /** valid, not decided yet */
  pending: number;
  /** due in the recipient's quiet hours: sent (or refused) once the window opens (consent-rules.md §9) */
  held: number;
  /** never attempted because the campaign was cancelled */
  cancelled: number;
  /** rows that could not be sent at all, by line with the reason */
  invalid: number;
  /** refused recipients by refusal code (OPTED_OUT, NO_CONSENT, …) */
  refusedByCode: Record<string, number>;
}

export function emptyCampaignCounts(): CampaignCounts {
  return { total: 0, sent: 0, refused: 0, failed: 0, unknown: 0, pending: 0, held: 0, cancelled: 0, invalid: 0, refusedByCode: {} };
}

/** Counts as an older run carried them or an older activity answered them (no `held`): every count present. */
export function completeCampaignCounts(counts: Partial<CampaignCounts> | undefined): CampaignCounts {
  return { ...emptyCampaignCounts(), ...counts };
}

/** What the campaign's count activity answers: the counts, and when the first held recipient may go. */
export interface CampaignTally extends CampaignCounts {
  /** the earliest held_until of the held recipients; null: none is held */
  heldUntil: string | null;
}

/** The held recipients: how many, and when the first of them may go (null: none is held). */
export interface HeldRecipients {
  held: number;
  earliest: string | null;
}

/** How a campaign treats a promotional recipient due in its quiet hours: hold it until the window opens, or refuse it. */
export const QUIET_HOURS_CHOICES = ['hold', 'refuse'] as const;
export type QuietHoursChoice = (typeof QUIET_HOURS_CHOICES)[number];

/** The progress query's answer: a view, stable for callers, whatever the workflow keeps inside. */
export interface CampaignProgress {
  campaignId: string;
  status: CampaignStatus;
  counts: CampaignCounts;
  /** when sending starts (null: at once) */
  startAt: string | null;
  /** when it first ran, when it ended */
  startedAt: string | null;
  completedAt: string | null;
  /** an operator asked for a pause that has not settled yet (sends in flight finish first) */
  pauseRequested: boolean;
  /** when the first held recipient's quiet hours end (null: none is held) */
  heldUntil: string | null;
}

export function campaignWorkflowId(campaignId: string): string {
  return `campaign:${campaignId}`;
}

/** One key per recipient line: a worker killed mid-campaign resends nothing, the gate answers what it recorded. */
export function campaignSendKey(campaignId: string, line: number): string {
  return `${campaignSendKeyPrefix(campaignId)}${line}`;
}

/** What every send key of one campaign starts with (its ids have no ':', so no other campaign's keys do). */
export function campaignSendKeyPrefix(campaignId: string): string {
  return `campaign:${campaignId}:`;
}

/** Providers allow 10DLC numbers a few messages a second, toll-free tens, short codes hundreds: 1,000/s bounds them all. */
export const MAX_RATE_PER_SECOND = 1000;
/** Recipients per campaign: 100,000 rows keep a campaign's file and rows within what one request can carry (32 MiB). */
export const MAX_CAMPAIGN_RECIPIENTS = 100_000;
/** Business numbers one campaign may send from (round-robin). */
export const MAX_FROM_NUMBERS = 100;
/** Variables one recipient may carry, and how long one may be: a template fills a 1,600-character text at most. */
export const MAX_VARIABLES = 50;
export const MAX_VARIABLE_LENGTH = MAX_MESSAGE_BODY_LENGTH;

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
/** A CSV header can name a variable only if a template can use it as `{{name}}`. */
export function isVariableName(name: string): boolean {
  return VARIABLE_NAME.test(name);
}
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]{0,63})\s*\}\}/g;

/** The variable names a template uses, in order of first use. */
export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(new RegExp(PLACEHOLDER.source, 'g'))].map((match) => match[1]!))];
}

/** The recipient's text, or which variables it lacks (that row is invalid, with their names). */
export function renderTemplate(template: string, variables: Record<string, string>): { body: string } | { missing: string[] } {
  const missing = templateVariables(template).filter((name) => !Object.hasOwn(variables, name));
  if (missing.length > 0) return { missing };
  return { body: template.replace(new RegExp(PLACEHOLDER.source, 'g'), (_match, name: string) => variables[name]!) };
}

/** Why a recipient's text cannot go, or undefined: a missing variable, a text too long or unstorable once filled in. */
export function recipientBodyProblem(template: string, variables: Record<string, string>): { body: string } | { reason: string } {
  const rendered = renderTemplate(template, variables);
  if ('missing' in rendered) {
    return { reason: `missing variable${rendered.missing.length > 1 ? 's' : ''} ${rendered.missing.map((name) => `"${name}"`).join(', ')} (the body uses ${rendered.missing.map((name) => `{{${name}}}`).join(', ')})` };
  }
  if (rendered.body.length > MAX_MESSAGE_BODY_LENGTH) {
    return { reason: `the message would be ${rendered.body.length} characters with its variables; at most ${MAX_MESSAGE_BODY_LENGTH}` };
  }
  const unstorable = unstorableReason(rendered.body);
  if (unstorable) return { reason: `the message with its variables ${unstorable}` };
  return { body: rendered.body };
}

/** Campaign ids become workflow ids and idempotency keys: a small alphabet, no separators of ours. */
const campaignIdSchema = () => z.string().trim().regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be letters, digits, - or _ (at most 100)');

/** The pieces of the edge's own schemas a campaign reuses, so a campaign and POST /v1/messages accept the same. */
export interface CampaignSchemaParts {
  /** a phone number in any format, normalised to E.164 with the default country (client/schemas.ts) */
  phone: z.ZodType<string, string>;
  /** a message body as POST /v1/messages takes it */
  body: z.ZodType<string, string>;
  /** a declared program's id, or null */
  program: z.ZodType<string | null, string | null | undefined>;
}

/** One schema per input (consent-rules.md §1 for phones). Built by a function: nothing is built in the workflow sandbox. */
export function campaignSchemas({ phone, body, program }: CampaignSchemaParts) {
  const variableValue = z
    .union([z.string(), z.number(), z.boolean()], { error: 'must be a string, a number or a boolean' })
    .transform((value) => String(value))
    .pipe(z.string().max(MAX_VARIABLE_LENGTH, `must be at most ${MAX_VARIABLE_LENGTH} characters`));
  const variables = z
    .record(z.string().regex(VARIABLE_NAME, 'variable names are letters, digits, _ . or -, starting with a letter or _'), variableValue)
    .refine((record) => Object.keys(record).length <= MAX_VARIABLES, `must have at most ${MAX_VARIABLES} variables`);
  /** One row, checked on its own: a row that fails is recorded invalid with its line and reason, not a 400. */
  const recipient = z.object({ to: phone, variables: variables.default({}) }, { error: 'must be an object { to, variables? }' });
  /** One business number or a list: each is checked by the phone schema and named by its place when it is wrong. */
  const checkNumbers = (value: string | string[], ctx: z.RefinementCtx): string[] => {
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0 || list.length > MAX_FROM_NUMBERS) {
      ctx.addIssue({ code: 'custom', message: list.length === 0 ? 'must name at least one business number' : `must have at most ${MAX_FROM_NUMBERS} numbers` });
      return z.NEVER;
    }
    const numbers: string[] = [];
    list.forEach((item, index) => {
      const parsed = phone.safeParse(item);
      if (parsed.success) numbers.push(parsed.data);
      else for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: Array.isArray(value) ? [index] : [] });
    });
    if (numbers.length < list.length) return z.NEVER;
    if (new Set(numbers).size !== numbers.length) {
      ctx.addIssue({ code: 'custom', message: 'must not repeat a number' });
      return z.NEVER;
    }
    return numbers;
  };
  const numbersError = { error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : 'must be a business number or a list of them') };
  const fromNumbers = z.union([z.string(), z.array(z.string())], numbersError).transform(checkNumbers);
  const rate = z.number({ error: 'must be a number of messages per second' }).positive('must be more than 0').max(MAX_RATE_PER_SECOND, `must be at most ${MAX_RATE_PER_SECOND}`);
  const fields = {
    /** one business number, or several: recipients are spread over them round-robin */
    from: fromNumbers,
    type: z.enum(MESSAGE_TYPES),
    /** the text, with `{{name}}` for each recipient's variables */
    body,
    program: program.optional().transform((id) => id ?? null),
    appendDisclosures: z.boolean().default(false),
    /** per business number (providers limit each 10DLC, toll-free or short code number on its own); none: as fast as the gate goes */
    ratePerSecond: rate.optional(),
    /** a promotional recipient due in its quiet hours: held until its window opens (default), or refused QUIET_HOURS (§9) */
    onQuietHours: z.enum(QUIET_HOURS_CHOICES).default('hold'),
    /** ISO 8601: sending starts then (a durable timer); a time past starts at once */
    startAt: isoTimestampSchema.optional(),
    /** the same id twice is one campaign: a re-submitted request starts nothing new */
    campaignId: campaignIdSchema().optional(),
  };
  /** A campaign file's options, sent as multipart fields or CLI flags: every value a string (from: comma-separated). */
  /** The same, as form fields or a CLI flag write it: repeated, or comma-separated. */
  const fromText = z.union([z.string(), z.array(z.string())], numbersError).transform((value, ctx) => {
    const list = (Array.isArray(value) ? value : [value]).flatMap((item) => item.split(',')).map((number) => number.trim()).filter((number) => number !== '');
    return checkNumbers(list.length === 1 ? list[0]! : list, ctx);
  });
  const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' }).transform((value) => ['true', '1', 'yes'].includes(value))]);
  const rateText = z
    .union([z.number(), z.string()], { error: 'must be a number of messages per second' })
    .transform((value, ctx) => {
      if (typeof value === 'number' || /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
      ctx.addIssue({ code: 'custom', message: 'must be a number of messages per second' });
      return z.NEVER;
    })
    .pipe(rate);
  return {
    recipient,
    /** POST /v1/campaigns (JSON) and CampaignClient.createCampaign; recipients are checked row by row */
    createCampaign: z.object({
      ...fields,
      recipients: z
        .array(z.unknown(), { error: 'must be a list of { to, variables? }' })
        .min(1, 'must have at least one recipient')
        .max(MAX_CAMPAIGN_RECIPIENTS, `must have at most ${MAX_CAMPAIGN_RECIPIENTS} recipients`),
    }),
    /** POST /v1/campaigns (multipart CSV upload) and CampaignClient.createCampaignFromCsv */
    campaignCsvOptions: z.object({
      ...fields,
      from: fromText,
      appendDisclosures: flag.default(false),
      ratePerSecond: rateText.optional(),
      /** the header of the column holding the numbers; default `to` or `phone` */
      column: storableTextField({ min: 1, max: 100 }).optional(),
      fileName: storableTextField({ max: 255 }).optional(),
    }),
    campaignParams: z.object({ campaignId: campaignIdSchema() }),
    /** GET /v1/campaigns/:id/recipients */
    recipientsPage: z.object({
      status: z.enum(RECIPIENT_STATUSES).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: z.string().regex(/^\d{1,9}$/, 'must be the nextCursor of a previous page').optional(),
      format: z.enum(['json', 'csv']).default('json'),
    }),
  };
}

export type CampaignSchemas = ReturnType<typeof campaignSchemas>;
export type CreateCampaignInput = z.input<CampaignSchemas['createCampaign']>;
export type CampaignCsvOptionsInput = z.input<CampaignSchemas['campaignCsvOptions']>;
export type RecipientsPageInput = z.input<CampaignSchemas['recipientsPage']>;
