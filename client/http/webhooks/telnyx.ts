/**
 * Telnyx's webhooks (API v2): JSON events signed with Ed25519 over `${telnyx-timestamp}|${raw body}`, the signature
 * in telnyx-signature-ed25519 (https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks).
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { inboundMessageFieldsSchema, MAX_MESSAGE_ID_LENGTH, storableTextField } from '../../../workflows/domain/schemas';
import { InvalidInputError } from '../../consent-client';
import type { EdgeSchemas } from '../../schemas';
import { readPayload, type ProviderEvent, type SignedRequest, type Verification, type WebhookVerifier } from './provider-webhook';

export const TELNYX_SIGNATURE_HEADER = 'telnyx-signature-ed25519';
export const TELNYX_TIMESTAMP_HEADER = 'telnyx-timestamp';

/** A signed request older than this is a replay, not a delivery (Telnyx's own libraries use 300 s). */
export const TELNYX_TIMESTAMP_TOLERANCE_SECONDS = 300;

/** DER header of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the portal shows only the 32 raw key bytes after it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Telnyx's delivery statuses that carry an error code worth keeping. */
const FAILED_STATUSES = ['sending_failed', 'delivery_failed', 'expired'];

export function telnyxPublicKey(base64: string): KeyObject {
  const raw = Buffer.from(base64.trim(), 'base64');
  if (raw.length !== 32) throw new Error('TELNYX_PUBLIC_KEY must be the base64 of a 32-byte Ed25519 key');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function createTelnyxVerifier(publicKey: KeyObject, now: () => number = Date.now): WebhookVerifier {
  return {
    provider: 'telnyx',
    verify({ rawBody, headers }: SignedRequest): Verification {
      const signature = headers[TELNYX_SIGNATURE_HEADER];
      const timestamp = headers[TELNYX_TIMESTAMP_HEADER];
      if (typeof signature !== 'string' || typeof timestamp !== 'string') {
        return { valid: false, reason: 'no telnyx-signature-ed25519 or telnyx-timestamp header' };
      }
      if (!/^\d{1,12}$/.test(timestamp)) return { valid: false, reason: 'telnyx-timestamp is not a Unix time in seconds' };
      // Both ways: a timestamp far in the future would otherwise stay replayable for as long.
      const ageSeconds = Math.abs(now() / 1000 - Number(timestamp));
      if (ageSeconds > TELNYX_TIMESTAMP_TOLERANCE_SECONDS) {
        return { valid: false, reason: `telnyx-timestamp is more than ${TELNYX_TIMESTAMP_TOLERANCE_SECONDS} s from now` };
      }
      const signed = Buffer.from(`${timestamp}|${rawBody}`, 'utf8');
      let valid = false;
      try {
        valid = verify(null, signed, publicKey, Buffer.from(signature, 'base64'));
      } catch {
        // A signature of the wrong shape is a wrong signature.
      }
      return valid ? { valid: true } : { valid: false, reason: 'telnyx-signature-ed25519 does not match the body and timestamp' };
    },
  };
}

const telnyxEnvelopeSchema = z.object({
  data: z.object({ event_type: z.string().min(1).max(100), payload: z.unknown() }),
});

function telnyxReceivedSchema(schemas: EdgeSchemas) {
  return z.object({
    id: inboundMessageFieldsSchema.shape.messageId,
    // Inbound texts are never refused for their numbers (consent-rules.md §1): a possible sender, a long or short code.
    from: z.object({ phone_number: schemas.inboundContact }),
    to: z.array(z.object({ phone_number: schemas.businessNumber })).min(1, 'must name the business number'),
    // An MMS with no text has a null or empty text: still a message from the contact. A long one is cut, not refused.
    text: inboundMessageFieldsSchema.shape.body.nullish().transform((text) => text ?? ''),
  });
}

const telnyxStatusSchema = z.object({
  id: storableTextField({ min: 1, max: MAX_MESSAGE_ID_LENGTH }),
  to: z.array(z.object({ status: storableTextField({ min: 1, max: 40 }) })).min(1, 'must carry the recipient status'),
  errors: z.array(z.object({ code: z.union([storableTextField({ max: 40 }), z.number()]).transform(String) })).nullish(),
});

/** Telnyx's message events read into the engine's terms; other event types are acknowledged and ignored. */
export function telnyxEvent(rawBody: string, schemas: EdgeSchemas, receivedAt = new Date()): ProviderEvent {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new InvalidInputError([{ field: '(body)', message: 'is not valid JSON' }]);
  }
  const { data } = readPayload(telnyxEnvelopeSchema, json);
  if (data.event_type === 'message.received') {
    const payload = readPayload(telnyxReceivedSchema(schemas), data.payload, 'data.payload.');
    return {
      kind: 'inbound',
      message: { messageId: payload.id, from: payload.from.phone_number, to: payload.to[0]!.phone_number, body: payload.text, receivedAt: receivedAt.toISOString() },
    };
  }
  if (data.event_type === 'message.sent' || data.event_type === 'message.finalized') {
    const payload = readPayload(telnyxStatusSchema, data.payload, 'data.payload.');
    const status = payload.to[0]!.status;
    const errorCode = FAILED_STATUSES.includes(status) ? (payload.errors?.[0]?.code ?? null) : null;
    return { kind: 'delivery-status', update: { providerMessageId: payload.id, providerStatus: status, errorCode } };
  }
  return { kind: 'ignored', eventType: data.event_type };
}
