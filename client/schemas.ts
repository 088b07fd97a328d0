/**
 * The edge's view of the shared schemas: the same shapes as the workflow's, with phone numbers normalised
 * to E.164 (consent-rules.md §1: normalised with a default country, or refused; never guessed silently).
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';
import { consentInputSchema } from '../workflows/domain/consent-evidence';
import { parseFrequency } from '../workflows/domain/disclosures';
import {
  canSendRequestSchema,
  e164Schema,
  inboundMessageSchema,
  isoTimestampSchema,
  MAX_MESSAGE_BODY_LENGTH,
  MESSAGE_TYPES,
  recordOptOutSchema,
} from '../workflows/domain/schemas';

const programIdSchema = z.string().trim().regex(/^[a-z0-9][a-z0-9_-]{0,99}$/i, 'must be letters, digits, - or _ (at most 100)');

export function phoneNumberSchema(defaultCountry: string) {
  return z
    .string({ error: 'must be a phone number' })
    .trim()
    .min(1, 'must not be empty')
    .max(32, 'is too long for a phone number')
    .transform((value, ctx) => {
      const parsed = parsePhoneNumberFromString(value, defaultCountry as CountryCode);
      if (!parsed) {
        ctx.addIssue({ code: 'custom', message: `"${value}" is not a phone number` });
        return z.NEVER;
      }
      if (!parsed.isValid()) {
        ctx.addIssue({ code: 'custom', message: `"${value}" is not a valid number (${parsed.country ?? defaultCountry})` });
        return z.NEVER;
      }
      return parsed.number;
    })
    .pipe(e164Schema);
}

export function edgeSchemas(defaultCountry: string) {
  const phone = phoneNumberSchema(defaultCountry);
  return {
    phone,
    /** `receivedAt` defaults to the moment the edge accepted the message. */
    inboundMessage: inboundMessageSchema.extend({
      from: phone,
      to: phone,
      receivedAt: isoTimestampSchema.optional(),
    }),
    recordOptOut: recordOptOutSchema.extend({
      businessNumber: phone.nullable().default(null),
      at: isoTimestampSchema.optional(),
    }),
    canSend: canSendRequestSchema.pick({ from: true, type: true }).extend({ from: phone, program: programIdSchema.optional() }),
    contactParams: z.object({ phone }),
    /** POST /v1/messages and client.sendMessage */
    sendMessage: z.object({
      to: phone,
      from: phone,
      body: z.string().min(1, 'must not be empty').max(MAX_MESSAGE_BODY_LENGTH, `must be at most ${MAX_MESSAGE_BODY_LENGTH} characters`),
      type: z.enum(MESSAGE_TYPES),
      program: programIdSchema.nullable().default(null),
      idempotencyKey: z.string().trim().min(1).max(200).optional(),
      appendDisclosures: z.boolean().default(false),
    }),
    /** POST /v1/consents and client.recordConsent: the workflow's own consent schema, with the contact and edge phones */
    recordConsent: consentInputSchema.extend({
      phone,
      businessNumber: phone.nullable().default(null),
      grantedAt: isoTimestampSchema.optional(),
    }),
    /** POST /v1/programs */
    program: z.object({
      id: programIdSchema,
      businessName: z.string().trim().min(1).max(100),
      description: z.string().trim().min(1).max(200),
      frequency: z
        .string()
        .trim()
        .min(1)
        .max(100)
        .refine((text) => parseFrequency(text) !== undefined, 'must read like "up to 4 msgs/month" or "Msg frequency varies"'),
    }),
  };
}

export type EdgeSchemas = ReturnType<typeof edgeSchemas>;
