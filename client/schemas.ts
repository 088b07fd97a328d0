/**
 * The edge's view of the shared schemas: the same shapes as the workflow's, with phone numbers normalised
 * to E.164 (consent-rules.md §1: normalised with a default country, or refused; never guessed silently).
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';
import {
  canSendRequestSchema,
  e164Schema,
  inboundMessageSchema,
  isoTimestampSchema,
  recordOptOutSchema,
} from '../workflows/domain/schemas';

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
    canSend: canSendRequestSchema.extend({ from: phone }),
    contactParams: z.object({ phone }),
  };
}

export type EdgeSchemas = ReturnType<typeof edgeSchemas>;
