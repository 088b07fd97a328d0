/**
 * Twilio's webhooks: form-encoded, signed with X-Twilio-Signature, HMAC-SHA1 with the account's auth token over
 * the full URL Twilio called followed by every POST parameter, sorted by name, name and value concatenated
 * (https://www.twilio.com/docs/usage/security#validating-requests).
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { DeliveryStatusUpdate } from '../../../activities/postgres/outbound-messages';
import { inboundMessageFieldsSchema, MAX_MESSAGE_ID_LENGTH, storableTextField } from '../../../workflows/domain/schemas';
import type { EdgeSchemas } from '../../schemas';
import { secretsMatch } from '../secret-compare';
import { readPayload, type InboundText, type SignedRequest, type Verification, type WebhookVerifier } from './provider-webhook';

export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';

/** Replies go out through the engine's activities (exactly once, with the outbox), never as TwiML. */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

/** Twilio's delivery statuses that carry an ErrorCode worth keeping. */
const FAILED_STATUSES = ['failed', 'undelivered'];

export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort();
  // A repeated name signs each of its distinct values, sorted, as Twilio's own helper does.
  const signed = names.reduce((text, name) => text + [...new Set(params.getAll(name))].sort().map((value) => name + value).join(''), url);
  return createHmac('sha1', authToken).update(signed, 'utf8').digest('base64');
}

export function createTwilioVerifier(authToken: string): WebhookVerifier {
  return {
    provider: 'twilio',
    verify({ url, rawBody, headers }: SignedRequest): Verification {
      const given = headers[TWILIO_SIGNATURE_HEADER];
      if (typeof given !== 'string' || given.length === 0) return { valid: false, reason: 'no X-Twilio-Signature header' };
      const expected = twilioSignature(authToken, url, new URLSearchParams(rawBody));
      return secretsMatch(given, expected) ? { valid: true } : { valid: false, reason: `X-Twilio-Signature does not match ${url} and its parameters` };
    },
  };
}

/** The fields of Twilio's inbound-message webhook the engine reads; the others (NumMedia, FromCity, ...) are ignored. */
function twilioInboundFormSchema(schemas: EdgeSchemas) {
  return z.object({
    MessageSid: inboundMessageFieldsSchema.shape.messageId,
    // Inbound texts are never refused for their numbers (consent-rules.md §1): a possible From, a long or short code To.
    From: schemas.inboundContact,
    To: schemas.businessNumber,
    // A picture with no text arrives with an empty Body: still a message from the contact. A long one is cut, not refused.
    Body: inboundMessageFieldsSchema.shape.body.default(''),
    // Advanced Opt-Out's word on what Twilio did with the text (STOP, START, HELP); anything else is no such word.
    OptOutType: z
      .string()
      .optional()
      .transform((value) => {
        const type = value?.trim().toUpperCase();
        return type === 'STOP' || type === 'START' || type === 'HELP' ? type : null;
      }),
  });
}

const twilioStatusFormSchema = z.object({
  MessageSid: storableTextField({ min: 1, max: MAX_MESSAGE_ID_LENGTH }),
  MessageStatus: storableTextField({ min: 1, max: 40 }),
  ErrorCode: storableTextField({ max: 20 }).optional(),
});

/** Twilio's inbound text, read into the engine's (the edge stamps the time it accepted it), and Advanced Opt-Out's OptOutType. */
export function twilioInbound(params: URLSearchParams, schemas: EdgeSchemas, receivedAt = new Date()): { text: InboundText; optOutType: 'STOP' | 'START' | 'HELP' | null } {
  const form = readPayload(twilioInboundFormSchema(schemas), Object.fromEntries(params));
  return { text: { messageId: form.MessageSid, from: form.From, to: form.To, body: form.Body, receivedAt: receivedAt.toISOString() }, optOutType: form.OptOutType };
}

export function twilioDeliveryStatus(params: URLSearchParams): DeliveryStatusUpdate {
  const form = readPayload(twilioStatusFormSchema, Object.fromEntries(params));
  const failed = FAILED_STATUSES.includes(form.MessageStatus);
  return { providerMessageId: form.MessageSid, providerStatus: form.MessageStatus, errorCode: failed && form.ErrorCode ? form.ErrorCode : null };
}
