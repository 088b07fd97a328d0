/**
 * The shapes of every message that crosses a boundary (HTTP, client library, signal, query),
 * defined once. Pure: runs inside the workflow sandbox as well as at the edges.
 */
import { LANGUAGE_KEYWORDS, type KeywordLanguage, type KeywordSettingsChanges } from './keywords';
import { lazySchema } from './lazy-schema';
import { originalText, storableText, timestampProblem, type OriginalText } from './storable';
import { z } from './zod';

/** E.164: a plus, a country code that does not start with 0, at most 15 digits (ITU-T E.164). */
export const e164Schema = lazySchema(() =>
  z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number such as +14155551234'),
);

/**
 * A business number (consent-rules.md §1): an E.164 long code or toll-free number, or a national short code. Short
 * codes are stored as their digits alone, as Twilio writes them in `To` (`72345`): there is no E.164 form of a short
 * code. 5–6 digits are the US and Canadian short codes (CTIA, CWTA); the same lengths cover the UK, France and India.
 * Other countries' 3–4 and 7–8 digit codes are refused until a deployment needs them: shorter ones are service
 * numbers and extensions, longer ones parts of long numbers, and digits alone do not say which country they are in.
 * Widens e164Schema only, so any message it accepted before reads the same.
 */
export const SHORT_CODE_PATTERN = /^\d{5,6}$/;
export const businessNumberSchema = lazySchema(() =>
  z
    .string()
    .regex(/^(?:\+[1-9]\d{6,14}|\d{5,6})$/, 'must be an E.164 phone number such as +14155551234, or a short code of 5 or 6 digits such as 72345'),
);

/** Twilio's maximum body length (1,600 characters, ten segments): what the engine sends; longer texts are refused. */
export const MAX_MESSAGE_BODY_LENGTH = 1600;
/**
 * consent-rules.md §1: an inbound text is never refused for its length. Every text that fits in a request the API
 * takes (MAX_REQUEST_BODY_BYTES, 64 KiB: at least a byte a UTF-16 unit, in JSON and in a form) reaches the actor
 * whole; a longer one (through the client library) is cut to this many units, and `bodyTruncatedFrom` says so.
 */
export const MAX_INBOUND_BODY_LENGTH = 64 * 1024;
/** Provider message ids are short (Twilio SM + 32 hex); a generous bound keeps junk out of workflow state. */
export const MAX_MESSAGE_ID_LENGTH = 128;
/** How much of a receivedAt the engine could not use is kept as evidence of what the caller claimed. */
export const MAX_CLAIMED_TIMESTAMP_LENGTH = 100;
/** An inbound text's receivedAt may be this far ahead of the edge's clock (clock skew), and this far behind it. */
export const RECEIVED_AT_MAX_AHEAD_MS = 5 * 60 * 1000;
export const RECEIVED_AT_MAX_BEHIND_MS = 30 * 24 * 60 * 60 * 1000;

/** A real, storable instant: ISO 8601 with a UTC offset within ±14:00, a day that exists, 1990–2099 (storable.ts). */
export const isoTimestampSchema = lazySchema(() =>
  z.string({ error: 'must be an ISO 8601 timestamp' }).superRefine((value, ctx) => {
    const problem = timestampProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

/**
 * Free text that is kept as evidence or shown to operators (a note, who recorded it, a reference): NUL and lone
 * surrogates, which no store can hold, become U+FFFD rather than failing a write later.
 */
export function storableTextField({ min = 0, max, empty = 'must not be empty' }: { min?: number; max: number; empty?: string }) {
  const text = z.string().trim().max(max, `must be at most ${max} characters`);
  return (min > 0 ? text.min(min, empty) : text).transform(storableText);
}

/** How many entries an account may add to one keyword list, and how long one may be. */
export const MAX_KEYWORD_ENTRIES = 50;
export const MAX_KEYWORD_LENGTH = 60;

/** The account's keyword settings as an inbound text carries them: only what differs from the defaults (keywords.ts). */
export const keywordSettingsChangesSchema = lazySchema(() => {
  const entries = z
    .array(storableTextField({ min: 1, max: MAX_KEYWORD_LENGTH }))
    .max(MAX_KEYWORD_ENTRIES, `must have at most ${MAX_KEYWORD_ENTRIES} entries`);
  return z.object({
    optOut: entries.optional(),
    resubscribe: entries.optional(),
    help: entries.optional(),
    revocationPhrases: entries.optional(),
    mode: z.enum(['phrases', 'strict']).optional(),
    languages: z.array(z.enum(Object.keys(LANGUAGE_KEYWORDS) as [KeywordLanguage, ...KeywordLanguage[]])).optional(),
  }) satisfies z.ZodType<KeywordSettingsChanges>;
});

/** How an inbound text reached the engine: the ledger keeps it with every text, so each START says who delivered it. */
export const INBOUND_CHANNELS = ['api', 'twilio-webhook', 'telnyx-webhook', 'client'] as const;
export type InboundChannelKind = (typeof INBOUND_CHANNELS)[number];

export const inboundChannelSchema = lazySchema(() =>
  z.object({
    kind: z.enum(INBOUND_CHANNELS),
    /** for `api`: the name of the API key that delivered it (never the key itself); null when the API runs without keys */
    key: storableTextField({ max: 100 }).nullable().default(null),
  }),
);
export type InboundChannel = z.infer<typeof inboundChannelSchema>;

/**
 * The provider answers its own keywords (Twilio's default filtering or Advanced Opt-Out, Telnyx's opt-out
 * management): what it answers, as the edge's settings say, so the engine records the provider's confirmation instead
 * of sending a second one. Keywords are as the provider lists them; `optOutType` is Twilio's webhook field when present.
 */
export const providerKeywordRepliesSchema = lazySchema(() => {
  const keywords = z.array(z.string().min(1).max(MAX_KEYWORD_LENGTH)).max(MAX_KEYWORD_ENTRIES);
  return z.object({
    provider: z.enum(['twilio', 'telnyx']),
    optOut: keywords,
    resubscribe: keywords,
    help: keywords,
    /** Twilio Advanced Opt-Out's `OptOutType` (STOP, START, HELP): the provider says it handled this text as that */
    optOutType: z.enum(['STOP', 'START', 'HELP']).nullable().default(null),
  });
});
export type ProviderKeywordReplies = z.infer<typeof providerKeywordRepliesSchema>;

/** An inbound text as it crosses a boundary, before its time and text are settled (inboundMessageSchema). */
export const inboundMessageFieldsSchema = lazySchema(() =>
  z.object({
    /** the provider's id for the inbound message: duplicates of one id have no second effect */
    messageId: storableTextField({ min: 1, max: MAX_MESSAGE_ID_LENGTH }),
    /** the contact who texted */
    from: e164Schema,
    /** the business number the text came in on: a long code in E.164 or a short code's digits */
    to: businessNumberSchema,
    /** any length: settleInbound cuts one beyond MAX_INBOUND_BODY_LENGTH rather than refuse it */
    body: z.string(),
    /** never a reason to drop a text: one the engine cannot use is replaced by its own clock (settleInbound) */
    receivedAt: z.string().optional(),
    /** set by settleInbound: the receivedAt the caller claimed, when the engine used its own clock instead */
    receivedAtClaimed: z.string().max(MAX_CLAIMED_TIMESTAMP_LENGTH).optional(),
    /** set by settleInbound: the text exactly as it arrived, when it had to be changed to be stored */
    originalBody: z
      .object({ encoding: z.literal('utf16le-base64'), value: z.string().max(4 * MAX_INBOUND_BODY_LENGTH), changed: z.string().max(200) })
      .optional(),
    /** set by settleInbound: the length of the text as it arrived, when it was longer than MAX_INBOUND_BODY_LENGTH and cut */
    bodyTruncatedFrom: z.number().int().positive().optional().catch(undefined),
    /**
     * set by the edge: `from` is a possible number that today's numbering metadata does not call valid (a range opened
     * since): still the contact's, and their opt-out counts (consent-rules.md §1), but flagged
     */
    unverifiedNumber: z.literal(true).optional().catch(undefined),
    /**
     * set by the edge: the account's keyword settings when the text arrived, so a change reaches every contact from its
     * next text, and a replay reads the text as it was read. Settings that do not parse are dropped, never the text.
     */
    keywords: keywordSettingsChangesSchema.optional().catch(undefined),
    /** set by the edge: how the text arrived (kept as evidence; a value that does not parse is dropped, never the text) */
    channel: inboundChannelSchema.optional().catch(undefined),
    /** set by the edge: the keywords the provider answered itself, when the deployment says it does */
    providerReplies: providerKeywordRepliesSchema.optional().catch(undefined),
  }),
);

/**
 * consent-rules.md §1: an opt-out is never refused because of its text or its clock. A body with characters no store
 * can hold is stored normalised, with the original kept (base64) for the evidence; a body longer than
 * MAX_INBOUND_BODY_LENGTH is cut, its length kept; a receivedAt that is not a real instant (or, at the edge, lies
 * outside [now − 30 days, now + 5 minutes]) is replaced by `now`, and the claim kept.
 */
export function settleInbound<T extends z.output<typeof inboundMessageFieldsSchema>>(
  message: T,
  now: Date,
  { window = false }: { window?: boolean } = {},
): T & InboundMessage {
  const kept = inboundBodyWithinBound(message.body);
  const body = storableText(kept);
  const claimed = message.receivedAt;
  let receivedAt = claimed;
  if (claimed === undefined || timestampProblem(claimed) !== undefined) receivedAt = undefined;
  else if (window) {
    const offset = Date.parse(claimed) - now.getTime();
    if (offset > RECEIVED_AT_MAX_AHEAD_MS || offset < -RECEIVED_AT_MAX_BEHIND_MS) receivedAt = undefined;
  }
  return {
    ...message,
    body,
    receivedAt: receivedAt ?? now.toISOString(),
    ...(receivedAt === undefined && claimed !== undefined
      ? { receivedAtClaimed: message.receivedAtClaimed ?? storableText(claimed.slice(0, MAX_CLAIMED_TIMESTAMP_LENGTH)) }
      : {}),
    ...(body !== kept ? { originalBody: originalText(kept) } : {}),
    ...(kept !== message.body ? { bodyTruncatedFrom: message.body.length } : {}),
  };
}

/** The first MAX_INBOUND_BODY_LENGTH units of a text, never ending in half of a surrogate pair. */
function inboundBodyWithinBound(body: string): string {
  if (body.length <= MAX_INBOUND_BODY_LENGTH) return body;
  const end = /[\uD800-\uDBFF]/.test(body[MAX_INBOUND_BODY_LENGTH - 1]!) ? MAX_INBOUND_BODY_LENGTH - 1 : MAX_INBOUND_BODY_LENGTH;
  return body.slice(0, end);
}

/** What the contact actor takes: the workflow's clock stands in for a receivedAt that is not a real instant. */
export const inboundMessageSchema = lazySchema(() => inboundMessageFieldsSchema.transform((message) => settleInbound(message, new Date())));

export interface InboundMessage {
  messageId: string;
  from: string;
  to: string;
  /** storable: NUL and lone surrogates replaced (originalBody then holds what arrived) */
  body: string;
  receivedAt: string;
  receivedAtClaimed?: string;
  originalBody?: OriginalText;
  /** the text was longer than MAX_INBOUND_BODY_LENGTH: `body` holds its beginning, this its length as it arrived */
  bodyTruncatedFrom?: number;
  /** `from` is possible but not valid by today's numbering metadata (set by the edge) */
  unverifiedNumber?: true;
  keywords?: KeywordSettingsChanges;
  channel?: InboundChannel;
  providerReplies?: ProviderKeywordReplies;
}

/** consent-rules.md §1: where an opt-out came from. */
export const OPT_OUT_SOURCES = ['keyword', 'revocation', 'suppression-import', 'operator-recorded', 'carrier'] as const;
export type OptOutSource = (typeof OPT_OUT_SOURCES)[number];

/** Opt-outs that arrive without an inbound text: the add-only `recordOptOut` signal. */
export const RECORDED_OPT_OUT_SOURCES = ['suppression-import', 'operator-recorded', 'carrier'] as const;

export const recordOptOutSchema = lazySchema(() =>
  z.object({
    source: z.enum(RECORDED_OPT_OUT_SOURCES),
    at: isoTimestampSchema,
    /** the business number concerned, when there is one (none for an import) */
    businessNumber: e164Schema.nullable().default(null),
    /** who recorded it: an operator's name or e-mail, the import id, the provider */
    recordedBy: storableTextField({ min: 1, max: 200 }).nullable().default(null),
    /** what backs it: a call id, an e-mail reference, an import id, a provider error code */
    reference: storableTextField({ max: 200 }).nullable().default(null),
    note: storableTextField({ max: 1000 }).nullable().default(null),
  }),
);
export type RecordOptOut = z.infer<typeof recordOptOutSchema>;
export type RecordOptOutInput = z.input<typeof recordOptOutSchema>;

/** consent-rules.md §5: the three kinds of outbound message. */
export const MESSAGE_TYPES = ['transactional', 'promotional', 'conversational'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const FREQUENCY_PERIODS = ['day', 'week', 'month'] as const;
export const frequencyCapSchema = lazySchema(() =>
  z.object({ max: z.number().int().min(1), per: z.enum(FREQUENCY_PERIODS) }),
);

/**
 * What the send gate (or the can-send query's edge) tells the actor about the clock: it reads the recipient's local
 * time itself (compliance-clock.ts, outside the workflow bundle) and hands over the verdict; the actor counts the state
 * limit against its own sends and reservations, atomically with the rest of the decision.
 */
export const sendClockSchema = lazySchema(() =>
  z.object({
    /** quiet hours, when they close the window now for this message; null: open, or the message is exempt */
    quietHours: z
      .object({
        nextAllowedAt: isoTimestampSchema,
        timeZone: z.string().min(1).max(64),
        localTime: z.string().min(1).max(16),
        source: z.string().min(1).max(500),
      })
      .nullable(),
    /** the state's limit on promotional messages to this recipient; null: none applies */
    stateLimit: z
      .object({ region: z.string().min(1).max(8), max: z.number().int().min(1), hours: z.number().positive().max(24 * 31), source: z.string().min(1).max(500) })
      .nullable(),
  }),
);
export type SendClock = z.infer<typeof sendClockSchema>;

export const canSendRequestSchema = lazySchema(() =>
  z.object({
    /** the business number the message would be sent from */
    from: e164Schema,
    type: z.enum(MESSAGE_TYPES),
    /** the program the message belongs to, with its declared cap (null: no program or no cap) */
    program: z
      .object({ id: z.string().min(1).max(100), frequencyCap: frequencyCapSchema.nullable() })
      .nullable()
      .default(null),
    /** when the send would happen: the frequency window ends here (defaults to the workflow's clock) */
    at: isoTimestampSchema.optional(),
    /** the compliance clock's part of the decision (consent-rules.md §9), from the gate; absent: not applied (older callers) */
    clock: sendClockSchema.optional(),
  }),
);
export type CanSendRequest = z.infer<typeof canSendRequestSchema>;
export type CanSendRequestInput = z.input<typeof canSendRequestSchema>;

export const SEND_DECISION_CODES = ['ALLOWED', 'OPTED_OUT', 'NO_CONSENT', 'FREQUENCY_CAP', 'STATE_MESSAGE_LIMIT', 'QUIET_HOURS', 'IN_FLIGHT_LIMIT'] as const;
export type SendDecisionCode = (typeof SEND_DECISION_CODES)[number];

export interface CanSendResult {
  allowed: boolean;
  code: SendDecisionCode;
  reason: string;
  /** no business-initiated message has gone to this contact yet: §6's disclosures are due */
  firstBusinessMessage: boolean;
  /** QUIET_HOURS and STATE_MESSAGE_LIMIT: the first time the message would be allowed */
  nextAllowedAt?: string;
}

/** Every way a send can be refused, as the send API reports it (OPTED_OUT is like Twilio's 21610). */
export const SEND_REFUSAL_CODES = ['OPTED_OUT', 'NO_CONSENT', 'MISSING_DISCLOSURES', 'FREQUENCY_CAP', 'STATE_MESSAGE_LIMIT', 'QUIET_HOURS', 'IN_FLIGHT_LIMIT', 'STATE_UNAVAILABLE'] as const;
export type SendRefusalCode = (typeof SEND_REFUSAL_CODES)[number];

/**
 * The send gate's decision for one send, taken and reserved by the actor in one step (the `reserveSend` update): an
 * allowed send holds its frequency-cap slot until it is settled, so concurrent sends cannot all pass one cap.
 */
export const reserveSendRequestSchema = lazySchema(() =>
  canSendRequestSchema.extend({
    /** the send's idempotency key: reserving it again (a retried attempt) decides again, in its own place */
    idempotencyKey: z.string().min(1).max(300),
  }),
);
export type ReserveSendRequest = z.infer<typeof reserveSendRequestSchema>;
export type ReserveSendRequestInput = z.input<typeof reserveSendRequestSchema>;

/** A reserved send that will not go out after all (the provider refused it, or the gate stopped before it): its slot is freed. */
export const releaseSendSchema = lazySchema(() => z.object({ idempotencyKey: z.string().min(1).max(300), reason: storableTextField({ max: 2000 }) }));
export type ReleaseSend = z.infer<typeof releaseSendSchema>;

/** Told to the contact after a send: first-message and frequency rules count these. */
export const messageSentSchema = lazySchema(() =>
  z.object({
    idempotencyKey: z.string().min(1),
    from: e164Schema,
    type: z.enum(MESSAGE_TYPES),
    program: z.string().nullable(),
    sentAt: isoTimestampSchema,
  }),
);
export type MessageSent = z.infer<typeof messageSentSchema>;

/** Told to the contact when a send to it was refused, so the refusal is on its record. */
export const sendRefusedSchema = lazySchema(() =>
  messageSentSchema.omit({ sentAt: true }).extend({
    code: z.enum(SEND_REFUSAL_CODES),
    reason: storableTextField({ max: 2000 }),
    at: isoTimestampSchema,
  }),
);
export type SendRefused = z.infer<typeof sendRefusedSchema>;

/**
 * An operator's decision on a review flag (a text that contained a keyword without clearly revoking): `opt_out` records
 * the text as an opt-out (source operator-recorded, with who decided); `not_an_opt_out` closes the flag. Neither can
 * lift an opt-out (consent-rules.md §4).
 */
export const REVIEW_DECISIONS = ['opt_out', 'not_an_opt_out'] as const;
export const resolveReviewSchema = lazySchema(() =>
  z.object({
    /** the flagged text's message id */
    messageId: z.string().min(1).max(MAX_MESSAGE_ID_LENGTH),
    decision: z.enum(REVIEW_DECISIONS),
    /** the operator's name or e-mail (the console adds the API key's name) */
    decidedBy: storableTextField({ min: 1, max: 200 }),
    why: storableTextField({ max: 1000 }).nullable().default(null),
  }),
);
export type ResolveReview = z.infer<typeof resolveReviewSchema>;
export type ResolveReviewInput = z.input<typeof resolveReviewSchema>;

/** Turns zod issues into "field: reason" lines, for errors that name the field and why. */
export function describeIssues(error: z.ZodError): { field: string; message: string }[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join('.') : '(body)',
    message: issue.message,
  }));
}
