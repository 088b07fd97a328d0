/**
 * Consent events out (issue 16): what the systems around the engine (a CRM, a helpdesk) hear, as Surge, Webex
 * Interact and RingCentral send opt-out webhooks. The event names, which ledger events they come from, each event's
 * payload, a subscription's shape, and positions in the event stream. Pure: shared by the HTTP edge, the
 * configuration, the delivery activity and the delivery workflow (which uses only the stream positions).
 */
import { lazySchema } from './lazy-schema';
import { z } from './zod';

/** Every event a subscription may choose. */
export const CONSENT_EVENT_TYPES = [
  'contact.opted_out',
  'contact.resubscribed',
  'consent.recorded',
  'review.flagged',
  'review.resolved',
  'send.refused',
  'campaign.completed',
] as const;
export type ConsentEventType = (typeof CONSENT_EVENT_TYPES)[number];

/**
 * The ledger events that are consent events (workflows/domain/ledger.ts LEDGER_EVENTS), by name: the same table as
 * consent_event_type() in migration 009, whose trigger feeds the stream. campaign.completed comes from campaigns.
 * Keyed by string, not LedgerEvent: an event the ledger does not write yet simply never occurs.
 */
export const LEDGER_EVENT_TO_CONSENT_EVENT: Readonly<Record<string, ConsentEventType>> = {
  opt_out: 'contact.opted_out',
  resubscribe: 'contact.resubscribed',
  consent_recorded: 'consent.recorded',
  review_flagged: 'review.flagged',
  review_resolved: 'review.resolved',
  send_refused: 'send.refused',
};

/** An event's id: stable for its life (every delivery and replay), so a subscriber deduplicates by it. */
export function consentEventId(eventNumber: string): string {
  return `evt_${eventNumber}`;
}

/** The row number of an event id (`evt_123` → `123`), or null when it is not one. */
export function consentEventNumber(eventId: string): string | null {
  const match = /^evt_([1-9]\d{0,18})$/.exec(eventId);
  return match ? match[1]! : null;
}

/**
 * A place in the event stream: after the event at (tx, id), in the order consent_events is read (migration 009 says
 * why by transaction first). Decimal strings: both are 64-bit in Postgres, beyond a JSON number.
 */
export interface StreamPosition {
  tx: string;
  id: string;
}

/** Before every event. */
export const STREAM_START: StreamPosition = { tx: '0', id: '0' };

export function compareStreamPositions(a: StreamPosition, b: StreamPosition): number {
  const [atx, btx, aid, bid] = [BigInt(a.tx), BigInt(b.tx), BigInt(a.id), BigInt(b.id)];
  if (atx !== btx) return atx < btx ? -1 : 1;
  return aid === bid ? 0 : aid < bid ? -1 : 1;
}

export function earlierPosition(a: StreamPosition, b: StreamPosition): StreamPosition {
  return compareStreamPositions(a, b) <= 0 ? a : b;
}

export function laterPosition(a: StreamPosition, b: StreamPosition): StreamPosition {
  return compareStreamPositions(a, b) >= 0 ? a : b;
}

export function isStreamPosition(value: unknown): value is StreamPosition {
  const position = value as StreamPosition | null;
  return typeof position === 'object' && position !== null && /^\d{1,20}$/.test(String(position.tx)) && /^\d{1,19}$/.test(String(position.id));
}

// ---------------------------------------------------------------------------------------------------------------
// Payloads: Standard Webhooks' { type, timestamp, data }, with the event's id too.

const nullableText = () => z.string().nullable();
const contactFields = {
  contact: z.string(),
  /** the business number it happened on; null where there is none (an import, an operator's record without one) */
  businessNumber: nullableText(),
  occurredAt: z.string(),
  /** the evidence ledger's entry: GET /v1/contacts/:phone/history has its whole evidence */
  ledgerEntryId: z.string(),
  /** the contact actor's workflow (or the send's) that decided it, to open in the Temporal Web UI */
  workflowId: nullableText(),
};

/** Each event's data: what a CRM acts on, never the evidence in full (that stays behind the API's read scope). */
export const consentEventDataSchemas = {
  'contact.opted_out': lazySchema(() =>
    z.object({
      ...contactFields,
      /** keyword, revocation, suppression-import, operator-recorded, carrier (consent-rules.md §1) */
      source: nullableText(),
      /** the contact's text, when a text opted them out */
      text: nullableText(),
      messageId: nullableText(),
      recordedBy: nullableText(),
    }),
  ),
  'contact.resubscribed': lazySchema(() => z.object({ ...contactFields, text: nullableText(), messageId: nullableText() })),
  'consent.recorded': lazySchema(() =>
    z.object({
      ...contactFields,
      /** express or express_written */
      consentType: nullableText(),
      /** web_form, verbal, inbound_text, paper_form */
      consentSource: nullableText(),
      messageTypes: z.array(z.string()),
      program: nullableText(),
    }),
  ),
  'review.flagged': lazySchema(() => z.object({ ...contactFields, text: nullableText(), messageId: nullableText(), matched: nullableText() })),
  'review.resolved': lazySchema(() =>
    z.object({ ...contactFields, decision: nullableText(), messageId: nullableText(), decidedBy: nullableText(), why: nullableText() }),
  ),
  'send.refused': lazySchema(() =>
    z.object({
      ...contactFields,
      /** OPTED_OUT, NO_CONSENT, MISSING_DISCLOSURES, FREQUENCY_CAP, QUIET_HOURS, … */
      code: nullableText(),
      reason: nullableText(),
      messageType: nullableText(),
      program: nullableText(),
      outboundMessageId: nullableText(),
    }),
  ),
  'campaign.completed': lazySchema(() =>
    z.object({
      campaignId: z.string(),
      completedAt: z.string(),
      messageType: nullableText(),
      program: nullableText(),
      /** the campaign's final counts, as GET /v1/campaigns/:id shows them */
      counts: z.record(z.string(), z.unknown()),
    }),
  ),
} as const;

export type ConsentEventData<T extends ConsentEventType> = z.infer<(typeof consentEventDataSchemas)[T]>;

/** The JSON body of every delivery, signed as it is sent. */
export const consentEventPayloadSchema = lazySchema(() =>
  z.discriminatedUnion(
    'type',
    CONSENT_EVENT_TYPES.map((type) =>
      z.object({
        id: z.string().regex(/^evt_\d+$/),
        type: z.literal(type),
        /** when it happened (ISO 8601); the webhook-timestamp header says when this attempt was signed */
        timestamp: z.string(),
        data: consentEventDataSchemas[type],
      }),
    ) as unknown as [z.ZodObject, ...z.ZodObject[]],
  ),
);

export interface ConsentEventPayload {
  id: string;
  type: ConsentEventType;
  timestamp: string;
  data: Record<string, unknown>;
}

/** A ledger entry as the stream reads it (a row of consent_ledger). */
export interface LedgerEventSource {
  ledgerEntryId: string;
  event: string;
  contact: string;
  occurredAt: string;
  businessNumber: string | null;
  source: string | null;
  evidence: Record<string, unknown>;
  workflowId: string | null;
}

/** A completed campaign as the stream reads it. */
export interface CampaignEventSource {
  campaignId: string;
  completedAt: string;
  messageType: string | null;
  program: string | null;
  counts: Record<string, unknown>;
}

/** A text field of the evidence, or null when absent or not text. */
function evidenceText(evidence: Record<string, unknown>, field: string): string | null {
  const value = evidence[field];
  return typeof value === 'string' ? value : null;
}

/** The data of a ledger-fed event: picked from the entry, each field null when this entry does not carry it. */
export function ledgerEventData(type: Exclude<ConsentEventType, 'campaign.completed'>, entry: LedgerEventSource): Record<string, unknown> {
  const { evidence } = entry;
  const common = {
    contact: entry.contact,
    businessNumber: entry.businessNumber,
    occurredAt: entry.occurredAt,
    ledgerEntryId: entry.ledgerEntryId,
    workflowId: entry.workflowId,
  };
  const text = evidenceText(evidence, 'text');
  const messageId = evidenceText(evidence, 'messageId');
  switch (type) {
    case 'contact.opted_out':
      return { ...common, source: entry.source, text, messageId, recordedBy: evidenceText(evidence, 'recordedBy') };
    case 'contact.resubscribed':
      return { ...common, text, messageId };
    case 'consent.recorded':
      return {
        ...common,
        consentType: evidenceText(evidence, 'type'),
        consentSource: entry.source,
        messageTypes: Array.isArray(evidence.messageTypes) ? evidence.messageTypes.filter((each): each is string => typeof each === 'string') : [],
        program: evidenceText(evidence, 'program'),
      };
    case 'review.flagged':
      return { ...common, text, messageId, matched: evidenceText(evidence, 'matched') };
    case 'review.resolved':
      return { ...common, decision: entry.source, messageId, decidedBy: evidenceText(evidence, 'decidedBy'), why: evidenceText(evidence, 'why') };
    case 'send.refused':
      return {
        ...common,
        code: entry.source,
        reason: evidenceText(evidence, 'reason'),
        messageType: evidenceText(evidence, 'type'),
        program: evidenceText(evidence, 'program'),
        outboundMessageId: evidenceText(evidence, 'outboundMessageId'),
      };
  }
}

/** One event of the stream, with what its payload is built from. */
export type StreamEvent = { number: string; position: StreamPosition; type: ConsentEventType; contact: string | null } & (
  | { ledger: LedgerEventSource; campaign?: undefined }
  | { campaign: CampaignEventSource; ledger?: undefined }
);

/** The payload of a stream event: the same for every delivery of it (its sources never change). */
export function consentEventPayload(event: StreamEvent): ConsentEventPayload {
  if (event.campaign) {
    const { campaign } = event;
    return {
      id: consentEventId(event.number),
      type: 'campaign.completed',
      timestamp: campaign.completedAt,
      data: { campaignId: campaign.campaignId, completedAt: campaign.completedAt, messageType: campaign.messageType, program: campaign.program, counts: campaign.counts },
    };
  }
  const type = event.type as Exclude<ConsentEventType, 'campaign.completed'>;
  return { id: consentEventId(event.number), type, timestamp: event.ledger.occurredAt, data: ledgerEventData(type, event.ledger) };
}

// ---------------------------------------------------------------------------------------------------------------
// Subscriptions

/** The workflow id of a subscription's deliveries. */
export function eventDeliveryWorkflowId(subscriptionId: string): string {
  return `event-delivery:${subscriptionId}`;
}

/** A subscription id goes into a workflow id and URLs: letters, digits, - and _. */
export const EVENT_SUBSCRIPTION_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Standard Webhooks: a secret is whsec_ and the base64 of 24 to 64 random bytes. */
export const WEBHOOK_SECRET_MIN_BYTES = 24;
export const WEBHOOK_SECRET_MAX_BYTES = 64;
/** One secret in use and the next during a rotation is two; a few more leave room, more would bloat every header. */
export const MAX_SECRETS_PER_SUBSCRIPTION = 5;

/** The decoded length of canonical base64, or null when the text is not canonical base64 (as standardwebhooks decodes it). */
function base64Bytes(text: string): number | null {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  return (text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
}

/** A secret's problem, never quoting it (it may be most of a real secret). */
export function webhookSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith('whsec_')) return 'must start with whsec_ (a Standard Webhooks secret)';
  const bytes = base64Bytes(secret.slice('whsec_'.length));
  if (bytes === null) return 'must be whsec_ followed by base64 (padded with =)';
  if (bytes < WEBHOOK_SECRET_MIN_BYTES || bytes > WEBHOOK_SECRET_MAX_BYTES) {
    return `must encode ${WEBHOOK_SECRET_MIN_BYTES} to ${WEBHOOK_SECRET_MAX_BYTES} bytes (it encodes ${bytes})`;
  }
  return undefined;
}

const webhookSecretSchema = () =>
  z.string({ error: 'must be a string whsec_…' }).superRefine((secret, context) => {
    const problem = webhookSecretProblem(secret);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });

function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http(s) URL such as https://crm.example.com/hooks/sms';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (url.username || url.password) return 'must not carry a user name or password: the signature proves the sender';
  return undefined;
}

/**
 * A subscription as configured (EVENT_SUBSCRIPTIONS) or posted (POST /v1/event-subscriptions): `secret` or `secrets`
 * (one signature per secret on every delivery, for rotation); posted without either, one is generated and answered once.
 */
export const eventSubscriptionSchema = lazySchema(() =>
  z
    .strictObject({
      id: z.string().regex(EVENT_SUBSCRIPTION_ID, 'must be 1 to 64 letters, digits, - or _').optional(),
      url: z.string({ error: 'must be an http(s) URL' }).max(2048, 'must be at most 2048 characters').superRefine((value, context) => {
        const problem = urlProblem(value);
        if (problem) context.addIssue({ code: 'custom', message: problem });
      }),
      secret: webhookSecretSchema().optional(),
      secrets: z
        .array(webhookSecretSchema())
        .min(1, 'must hold at least one secret')
        .max(MAX_SECRETS_PER_SUBSCRIPTION, `must hold at most ${MAX_SECRETS_PER_SUBSCRIPTION} secrets`)
        .optional(),
      events: z
        .array(z.enum(CONSENT_EVENT_TYPES, { error: `must be one of ${CONSENT_EVENT_TYPES.join(', ')}` }))
        .min(1, `must name at least one of ${CONSENT_EVENT_TYPES.join(', ')}`),
      description: z.string().max(500, 'must be at most 500 characters').optional(),
    })
    .superRefine((value, context) => {
      if (value.secret !== undefined && value.secrets !== undefined) {
        context.addIssue({ code: 'custom', path: ['secrets'], message: 'give secret or secrets, not both' });
      }
    })
    .transform(({ secret, secrets, events, ...rest }) => ({
      ...rest,
      secrets: secrets ?? (secret === undefined ? undefined : [secret]),
      // Each type once, in the order the list above gives them.
      events: CONSENT_EVENT_TYPES.filter((type) => events.includes(type)),
    })),
);
export type EventSubscriptionInput = z.input<typeof eventSubscriptionSchema>;
export type EventSubscriptionFields = z.output<typeof eventSubscriptionSchema>;

/** A subscription with everything it needs to deliver: an id and its secrets. */
export interface EventSubscriptionDefinition {
  id: string;
  url: string;
  secrets: string[];
  events: ConsentEventType[];
  description?: string;
}

/** A configured subscription needs its id and secrets written down: a generated one would change at every start. */
export const configuredEventSubscriptionsSchema = lazySchema(() =>
  z.array(eventSubscriptionSchema).superRefine((subscriptions, context) => {
    const seen = new Set<string>();
    subscriptions.forEach((subscription, index) => {
      if (subscription.id === undefined) context.addIssue({ code: 'custom', path: [index, 'id'], message: 'is required' });
      else if (seen.has(subscription.id)) context.addIssue({ code: 'custom', path: [index, 'id'], message: 'is listed twice' });
      else seen.add(subscription.id);
      if (subscription.secrets === undefined) context.addIssue({ code: 'custom', path: [index, 'secrets'], message: 'is required (a list of whsec_… secrets)' });
    });
  }).transform((subscriptions): EventSubscriptionDefinition[] =>
    subscriptions.map(({ id, secrets, ...rest }) => ({ ...rest, id: id ?? '', secrets: secrets ?? [] })),
  ),
);

/** Where a replay starts: an event (it and everything after it), or a time (the first event recorded at or after it). */
export const eventReplaySchema = lazySchema(() =>
  z
    .strictObject({
      fromEventId: z.string().regex(/^evt_[1-9]\d{0,18}$/, 'must be an event id such as evt_123').optional(),
      from: z
        .string()
        .refine((value) => /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value)), 'must be an ISO 8601 timestamp')
        .optional(),
    })
    .superRefine((value, context) => {
      if ((value.fromEventId === undefined) === (value.from === undefined)) {
        context.addIssue({ code: 'custom', path: ['fromEventId'], message: 'give fromEventId or from (an ISO 8601 time), one of them' });
      }
    }),
);
export type EventReplayInput = z.input<typeof eventReplaySchema>;

/**
 * EVENT_SUBSCRIPTIONS: a JSON list of subscriptions, each with its id and secrets. Problems name the entry (1-based)
 * and field, never quote a value: the text holds secrets.
 */
export function parseConfiguredEventSubscriptions(text: string): { subscriptions: EventSubscriptionDefinition[]; problems: string[] } {
  if (text.trim() === '') return { subscriptions: [], problems: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the error, which may be a secret.
    return { subscriptions: [], problems: ['must be JSON: a list of { "id", "url", "secrets": ["whsec_…"], "events": [...] }'] };
  }
  const parsed = configuredEventSubscriptionsSchema.safeParse(value);
  if (parsed.success) return { subscriptions: parsed.data, problems: [] };
  return {
    subscriptions: [],
    problems: parsed.error.issues.map((issue) => {
      const [entry, ...field] = issue.path;
      return typeof entry === 'number' ? `entry ${entry + 1}${field.length > 0 ? ` ${field.join('.')}` : ''}: ${issue.message}` : issue.message;
    }),
  };
}
