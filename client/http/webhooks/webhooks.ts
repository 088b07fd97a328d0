/**
 * The providers' webhooks: POST /webhooks/twilio (inbound texts), /webhooks/twilio/status (delivery statuses) and
 * /webhooks/telnyx (both). Outside the API keys: each request proves itself with its provider's signature, and
 * nothing is signalled or written before it does. A provider without its secret gets no route.
 */
import type { KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OutboundMessages } from '../../../activities/postgres/outbound-messages';
import type { ConsentClient } from '../../consent-client';
import type { SignedRequest, WebhookVerifier } from './provider-webhook';
import { createTelnyxVerifier, telnyxEvent } from './telnyx';
import { telnyxKeywordReplies, twilioKeywordReplies, type KeywordReplySettings } from './keyword-replies';
import { createTwilioVerifier, EMPTY_TWIML, twilioDeliveryStatus, twilioInbound } from './twilio';

export interface WebhookSettings {
  /** e.g. https://sms.example.com when a proxy stands in front: Twilio signs the URL it called, not ours */
  publicBaseUrl?: string;
  twilioAuthToken?: string;
  telnyxPublicKey?: KeyObject;
  /** who answers the keywords arriving through each provider (TWILIO_KEYWORD_REPLIES, TELNYX_KEYWORD_REPLIES) */
  keywordReplies?: KeywordReplySettings;
}

export interface WebhookDependencies {
  consent: ConsentClient;
  outbox: OutboundMessages;
  settings: WebhookSettings;
}

export async function webhookRoutes(app: FastifyInstance, { consent, outbox, settings }: WebhookDependencies) {
  // Signatures cover the exact parameters (Twilio) or the exact bytes (Telnyx): here bodies stay raw strings.
  // This plugin is encapsulated, so the /v1 routes keep Fastify's JSON parser.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'application/json'], { parseAs: 'string' }, (_request, body, done) => done(null, body));

  const signedRequest = (request: FastifyRequest): SignedRequest => ({
    url: `${settings.publicBaseUrl?.replace(/\/+$/, '') ?? `${request.protocol}://${request.host}`}${request.url}`,
    rawBody: rawBody(request),
    headers: request.headers,
  });

  /** 403 before the handler runs: an unsigned or forged request reaches neither Temporal nor Postgres. */
  const requireSignature = (verifier: WebhookVerifier) => async (request: FastifyRequest, reply: FastifyReply) => {
    const verification = verifier.verify(signedRequest(request));
    if (verification.valid) return;
    request.log.warn({ provider: verifier.provider, reason: verification.reason }, 'webhook signature rejected');
    return reply.status(403).send({ error: 'invalid_signature', message: verification.reason });
  };

  if (settings.twilioAuthToken) {
    const twilio = { preHandler: requireSignature(createTwilioVerifier(settings.twilioAuthToken)) };

    app.post('/webhooks/twilio', twilio, async (request, reply) => {
      const { text, optOutType } = twilioInbound(new URLSearchParams(rawBody(request)), consent.schemas);
      const providerReplies = twilioKeywordReplies(settings.keywordReplies?.twilio, text.to, optOutType);
      await consent.handleInbound(text, { channel: { kind: 'twilio-webhook', key: null }, ...(providerReplies ? { providerReplies } : {}) });
      return reply.type('text/xml').send(EMPTY_TWIML);
    });

    app.post('/webhooks/twilio/status', twilio, async (request, reply) => {
      const update = twilioDeliveryStatus(new URLSearchParams(rawBody(request)));
      const recorded = await outbox.recordDeliveryStatus(update);
      return reply.status(200).send({ recorded });
    });
  }

  if (settings.telnyxPublicKey) {
    const telnyx = { preHandler: requireSignature(createTelnyxVerifier(settings.telnyxPublicKey)) };

    app.post('/webhooks/telnyx', telnyx, async (request, reply) => {
      const event = telnyxEvent(rawBody(request), consent.schemas);
      if (event.kind === 'inbound') {
        const providerReplies = telnyxKeywordReplies(settings.keywordReplies?.telnyx);
        const accepted = await consent.handleInbound(event.message, { channel: { kind: 'telnyx-webhook', key: null }, ...(providerReplies ? { providerReplies } : {}) });
        return reply.status(202).send({ accepted: accepted.message.messageId });
      }
      if (event.kind === 'delivery-status') return reply.status(200).send({ recorded: await outbox.recordDeliveryStatus(event.update) });
      return reply.status(200).send({ ignored: event.eventType });
    });
  }
}

/** A request with no body (no content type) is an empty one: its signature still has to match. */
function rawBody(request: FastifyRequest): string {
  return typeof request.body === 'string' ? request.body : '';
}
