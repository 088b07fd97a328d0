/** Provider webhooks as the providers send them, signed: Twilio's form with X-Twilio-Signature, Telnyx's JSON with Ed25519. */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { telnyxPublicKey } from '../../client/http/webhooks/telnyx';

export const PUBLIC_BASE_URL = 'https://sms.example.com';

export function twilioInboundForm(from: string, to: string, body: string, extra: Record<string, string> = {}) {
  const sid = `SM${randomUUID().replaceAll('-', '')}`;
  return { ToCountry: 'US', SmsMessageSid: sid, NumMedia: '0', MessageSid: sid, AccountSid: 'ACtest', From: from, To: to, Body: body, NumSegments: '1', ApiVersion: '2010-04-01', ...extra };
}

export async function postSignedTwilio(api: FastifyInstance, authToken: string, form: Record<string, string>, path = '/webhooks/twilio') {
  return api.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'x-twilio-signature': getExpectedTwilioSignature(authToken, `${PUBLIC_BASE_URL}${path}`, form) },
    payload: new URLSearchParams(form).toString(),
  });
}

/** A Telnyx signing key pair: the private half signs, the public half is what the API verifies with. */
export function telnyxKeys(): { signingKey: KeyObject; publicKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  // The key as the Telnyx portal shows it: base64 of the raw 32 bytes, after the 12-byte SPKI header.
  const portalKey = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('base64');
  return { signingKey: privateKey, publicKey: telnyxPublicKey(portalKey) };
}

export function telnyxReceived(from: string, to: string, text: string) {
  return JSON.stringify({
    data: {
      event_type: 'message.received',
      id: randomUUID(),
      occurred_at: new Date().toISOString(),
      payload: { id: randomUUID(), direction: 'inbound', type: 'SMS', from: { phone_number: from }, to: [{ phone_number: to, status: 'webhook_delivered' }], text },
      record_type: 'event',
    },
  });
}

export async function postSignedTelnyx(api: FastifyInstance, signingKey: KeyObject, rawBody: string) {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = sign(null, Buffer.from(`${timestamp}|${rawBody}`), signingKey).toString('base64');
  return api.inject({
    method: 'POST',
    url: '/webhooks/telnyx',
    headers: { 'content-type': 'application/json', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': String(timestamp) },
    payload: rawBody,
  });
}
