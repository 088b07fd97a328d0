/**
 * The edge's view of the shared schemas: the same shapes as the workflow's, with phone numbers normalised
 * to E.164 (consent-rules.md §1: normalised with a default country, or refused; never guessed silently).
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';
import { consentInputSchema } from '../workflows/domain/consent-evidence';
import { parseFrequency } from '../workflows/domain/disclosures';
import { MAX_COUNTED_SENDS } from '../workflows/domain/settings';
import {
  businessNumberSchema,
  canSendRequestSchema,
  e164Schema,
  inboundMessageFieldsSchema,
  isoTimestampSchema,
  MAX_MESSAGE_BODY_LENGTH,
  MESSAGE_TYPES,
  OPT_OUT_SOURCES,
  recordOptOutSchema,
  resolveReviewSchema,
  settleInbound,
  SHORT_CODE_PATTERN,
  storableTextField,
} from '../workflows/domain/schemas';
import { isIsoTimestampShape, storableText, timestampProblem, unstorableReason } from '../workflows/domain/storable';

/** A day (2026-11-27, midnight UTC) or an ISO 8601 timestamp, for date-range filters. */
const dayOrTimestampSchema = z.string().superRefine((value, ctx) => {
  const problem = timestampProblem(value, { dayAllowed: true });
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Clock skew allowed on times a caller says something happened at (an opt-out taken by phone, a consent). */
const FUTURE_SKEW_MS = 5 * 60 * 1000;
const pastTimestampSchema = isoTimestampSchema.refine((value) => Date.parse(value) <= Date.now() + FUTURE_SKEW_MS, 'must not be in the future');

/** Text the engine sends as it is: what cannot be stored or carried is refused, never changed behind the sender's back. */
const sendableText = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .superRefine((value, ctx) => {
      const reason = unstorableReason(value);
      if (reason) ctx.addIssue({ code: 'custom', message: reason });
    });

/** Keys become workflow ids and outbox keys: printable characters only. */
const idempotencyKeySchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters')
  .superRefine((value, ctx) => {
    const reason = unstorableReason(value);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  });
const importIdSchema = z.string().trim().regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be letters, digits, - or _ (at most 100)');

const programIdSchema = z.string().trim().regex(/^[a-z0-9][a-z0-9_-]{0,99}$/i, 'must be letters, digits, - or _ (at most 100)');

/** A phone number as people write it: trimmed, at most 32 characters (an E.164 number with spaces and an extension). */
const writtenNumber = (error: string) => z.string({ error }).trim().min(1, 'must not be empty').max(32, 'is too long for a phone number');

/**
 * A number in E.164, from any way of writing it (a default country for national forms). `valid`: one today's
 * numbering metadata knows; `possible`: one of a possible length for its country, which a range opened since the
 * metadata was published also is.
 */
function normalisedNumber(value: string, defaultCountry: string, accept: 'valid' | 'possible', ctx: z.RefinementCtx): string {
  const parsed = parsePhoneNumberFromString(value, defaultCountry as CountryCode);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a phone number` });
    return z.NEVER;
  }
  if (accept === 'valid' ? !parsed.isValid() : !parsed.isPossible()) {
    const problem = accept === 'valid' ? 'is not a valid number' : 'is not a phone number: it has the wrong number of digits';
    ctx.addIssue({ code: 'custom', message: `"${value}" ${problem} (${parsed.country ?? defaultCountry})` });
    return z.NEVER;
  }
  return parsed.number;
}

export function phoneNumberSchema(defaultCountry: string) {
  return writtenNumber('must be a phone number')
    .transform((value, ctx) => normalisedNumber(value, defaultCountry, 'valid', ctx))
    .pipe(e164Schema);
}

/**
 * consent-rules.md §1: the contact of an inbound text only needs a possible number. A number opened after our
 * metadata is still a contact, and their STOP counts; the message says so (`unverifiedNumber`, isVerifiedNumber).
 */
export function inboundContactNumberSchema(defaultCountry: string) {
  return writtenNumber('must be a phone number')
    .transform((value, ctx) => normalisedNumber(value, defaultCountry, 'possible', ctx))
    .pipe(e164Schema);
}

/** Whether today's numbering metadata calls an E.164 number valid (the edge flags an inbound text's contact if not). */
export function isVerifiedNumber(e164: string): boolean {
  return parsePhoneNumberFromString(e164)?.isValid() === true;
}

/**
 * The business number an inbound text came in on, as providers and callers write it: a short code (`72345`,
 * `"87 23 45"`, `872-345`) becomes its digits; anything else is a long code, normalised to E.164 like a contact's
 * number (possible suffices: the provider routed the text to it). Stored as businessNumberSchema says.
 */
export function businessNumberInputSchema(defaultCountry: string) {
  return writtenNumber('must be a phone number or a short code')
    .transform((value, ctx) => {
      // Spaces (of any width), dashes of any kind, dots and parentheses are how people group digits.
      const digits = value.replace(/[\s\p{Pd}.()]/gu, '');
      if (SHORT_CODE_PATTERN.test(digits)) return digits;
      if (/^\d{1,6}$/.test(digits)) {
        ctx.addIssue({ code: 'custom', message: `"${value}" is neither a short code (5 or 6 digits) nor a phone number` });
        return z.NEVER;
      }
      return normalisedNumber(value, defaultCountry, 'possible', ctx);
    })
    .pipe(businessNumberSchema);
}

export function edgeSchemas(defaultCountry: string) {
  const phone = phoneNumberSchema(defaultCountry);
  const inboundContact = inboundContactNumberSchema(defaultCountry);
  const businessNumber = businessNumberInputSchema(defaultCountry);
  return {
    phone,
    /** the contact of an inbound text (POST /v1/inbound, the webhooks): a possible number is enough */
    inboundContact,
    /** the business number of an inbound text: a long code, toll-free number or short code */
    businessNumber,
    /** `receivedAt` defaults to the moment the edge accepted the message. */
    inboundMessage: inboundMessageFieldsSchema
      // What the engine itself notes (a claimed receivedAt, the original text, a cut body) is never taken from a caller,
      // nor whether the number is verified. Nor are the account's keyword settings, which the client library adds from
      // its configuration, nor how the text arrived and what its provider answered, which only the edge that received
      // it can say (handleInbound's options).
      .omit({
        receivedAtClaimed: true,
        originalBody: true,
        bodyTruncatedFrom: true,
        unverifiedNumber: true,
        keywords: true,
        channel: true,
        providerReplies: true,
      })
      .extend({
        from: inboundContact,
        to: businessNumber,
        receivedAt: z.string().refine(isIsoTimestampShape, 'must be an ISO 8601 timestamp with a UTC offset').optional(),
      })
      // An instant the engine cannot use (or far from its clock) is replaced by the edge's clock, and a body longer than
      // any request the API takes is cut: never refused.
      .transform((message) =>
        settleInbound({ ...message, ...(isVerifiedNumber(message.from) ? {} : { unverifiedNumber: true as const }) }, new Date(), { window: true }),
      ),
    recordOptOut: recordOptOutSchema.extend({
      businessNumber: phone.nullable().default(null),
      at: pastTimestampSchema.optional(),
    }),
    canSend: canSendRequestSchema.pick({ from: true, type: true }).extend({ from: phone, program: programIdSchema.optional() }),
    contactParams: z.object({ phone }),
    /** GET /v1/reviews */
    reviewList: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
    /** POST /v1/reviews/:phone/resolve (the phone from the path) and client.resolveReview */
    resolveReview: resolveReviewSchema.extend({ phone }),
    resolveReviewBody: resolveReviewSchema,
    /** GET /v1/messages/:idempotencyKey */
    messageParams: z.object({ idempotencyKey: idempotencyKeySchema }),
    /** POST /v1/messages and client.sendMessage */
    sendMessage: z.object({
      to: phone,
      from: phone,
      body: sendableText(MAX_MESSAGE_BODY_LENGTH),
      type: z.enum(MESSAGE_TYPES),
      program: programIdSchema.nullable().default(null),
      idempotencyKey: idempotencyKeySchema.optional(),
      appendDisclosures: z.boolean().default(false),
      /** a message due in the recipient's quiet hours: held until the window opens (default), or refused with QUIET_HOURS */
      onQuietHours: z.enum(ON_QUIET_HOURS).default('hold'),
    }),
    /** POST /v1/consents and client.recordConsent: the workflow's own consent schema, with the contact and edge phones */
    recordConsent: consentInputSchema
      .extend({
        phone,
        businessNumber: phone.nullable().default(null),
        grantedAt: pastTimestampSchema.optional(),
        /** double_opt_in: pending until the contact replies Y/YES to the opt-in request (consent-rules.md §10) */
        confirmation: z.enum(['single_opt_in', 'double_opt_in']).default('single_opt_in'),
        /** the number the opt-in request or confirmation is sent from, when the consent names no business number */
        confirmationFrom: phone.optional(),
      })
      .refine((consent) => consent.confirmation !== 'double_opt_in' || consent.businessNumber !== null || consent.confirmationFrom !== undefined, {
        message: 'is required for a double opt-in when businessNumber is null: the opt-in request needs a number to go from',
        path: ['confirmationFrom'],
      }),
    /** POST /v1/opt-outs: an opt-out received by another channel (a call, an e-mail), with who recorded it */
    addOptOut: z.object({
      phone,
      recordedBy: storableTextField({ min: 1, max: 200, empty: 'must say who recorded it' }),
      note: storableTextField({ max: 1000 }).nullable().default(null),
      reference: storableTextField({ max: 200 }).nullable().default(null),
      businessNumber: phone.nullable().default(null),
      at: pastTimestampSchema.optional(),
    }),
    /** GET /v1/opt-outs */
    optOutList: z.object({
      source: z.enum(OPT_OUT_SOURCES).optional(),
      from: dayOrTimestampSchema.optional(),
      to: dayOrTimestampSchema.optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: z.string().max(500).optional(),
      format: z.enum(['json', 'csv']).default('json'),
    }),
    /** GET /v1/contacts/:phone/history */
    history: z.object({
      limit: z.coerce.number().int().min(1).max(1000).default(200),
      after: z.string().regex(/^\d{1,18}$/, 'must be the `next` value of a previous page').optional(),
    }),
    /** POST /v1/opt-outs/import (query string or multipart fields) and client.importSuppressionList */
    suppressionImport: z.object({
      /** the header name or 1-based position of the column holding the numbers; default the first */
      column: storableTextField({ min: 1, max: 100 }).optional(),
      recordedBy: storableTextField({ min: 1, max: 200, empty: 'must say who imports the list' }),
      fileName: storableTextField({ max: 255 }).optional(),
      /** the same id twice is one import: a re-submitted request starts nothing new */
      importId: importIdSchema.optional(),
    }),
    importParams: z.object({ importId: importIdSchema }),
    /** POST /v1/programs */
    program: z.object({
      id: programIdSchema,
      businessName: storableTextField({ min: 1, max: 100 }),
      description: storableTextField({ min: 1, max: 200 }),
      frequency: z
        .string()
        .trim()
        .min(1)
        .max(100)
        .refine((text) => parseFrequency(text) !== undefined, 'must read like "up to 4 msgs/month" or "Msg frequency varies"')
        .refine((text) => (parseFrequency(text)?.max ?? 0) <= MAX_COUNTED_SENDS, `must declare at most ${MAX_COUNTED_SENDS} msgs per period: each contact's sends are counted up to that many`)
        .transform(storableText),
      /** the message types quiet hours apply to (consent-rules.md §9); transactional and conversational are exempt by default */
      quietHoursTypes: z.array(z.enum(MESSAGE_TYPES)).max(3).default(['promotional']),
      /** send the opt-in confirmation when a consent to this program is recorded (CTIA 5.1.2.1) */
      optInConfirmation: z.boolean().default(true),
    }),
  };
}

/** What a send due in quiet hours does: wait for the window (a durable timer), or be refused at once. */
export const ON_QUIET_HOURS = ['hold', 'refuse'] as const;

export type EdgeSchemas = ReturnType<typeof edgeSchemas>;
