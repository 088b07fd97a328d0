/**
 * The one shape every provider's webhook is read into: the provider proves the request is its own (a verifier),
 * then a mapper turns its payload into the engine's inbound text or a delivery status for the outbox.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { DeliveryStatusUpdate } from '../../../activities/postgres/outbound-messages';
import { describeIssues } from '../../../workflows/domain/schemas';
import { InvalidInputError } from '../../consent-client';
import type { EdgeSchemas } from '../../schemas';

/** What a provider signed: the URL it called, the body exactly as it arrived, and its headers. */
export interface SignedRequest {
  url: string;
  rawBody: string;
  headers: IncomingHttpHeaders;
}

export type Verification = { valid: true } | { valid: false; reason: string };

export interface WebhookVerifier {
  readonly provider: string;
  verify(request: SignedRequest): Verification;
}

/** An inbound text as ConsentClient.handleInbound takes it. */
export type InboundText = z.input<EdgeSchemas['inboundMessage']>;

export type ProviderEvent =
  | { kind: 'inbound'; message: InboundText }
  | { kind: 'delivery-status'; update: DeliveryStatusUpdate }
  /** an event type the engine has no use for, acknowledged so the provider stops retrying it */
  | { kind: 'ignored'; eventType: string };

/** Validates a provider payload; a bad one is a 400 naming the provider's own field (e.g. `From`, `data.payload.text`). */
export function readPayload<S extends z.ZodType>(schema: S, input: unknown, fieldPrefix = ''): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new InvalidInputError(
    describeIssues(result.error).map((issue) => ({ ...issue, field: issue.field === '(body)' ? issue.field : `${fieldPrefix}${issue.field}` })),
  );
}
