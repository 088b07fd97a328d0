/** One outbound SMS as the engine hands it to a provider. */
export interface OutboundSms {
  /** Stable key for this one message: a retried send with the same key must not send twice. */
  idempotencyKey: string;
  to: string;
  from: string;
  body: string;
}

export interface ProviderSendResult {
  /** The provider's own id for the message (Twilio's MessageSid, the sandbox's row id). */
  providerMessageId: string;
  /** The provider's status word at acceptance time (queued, accepted, sent, ...). */
  status: string;
}

/**
 * Delivery statuses after which a provider reports nothing newer; callbacks can arrive out of order, so a late
 * `sent` must not overwrite them. Twilio: Message resource statuses; Telnyx: `to[].status` of message events.
 */
export const FINAL_DELIVERY_STATUSES = [
  'delivered',
  'undelivered',
  'failed',
  'read',
  'canceled',
  'delivery_failed',
  'sending_failed',
  'delivery_unconfirmed',
  'expired',
] as const;

/** Every SMS provider sits behind this one interface; the activities never know which one runs. */
export interface SmsProvider {
  readonly name: string;
  send(message: OutboundSms): Promise<ProviderSendResult>;
  /**
   * Whether this exact message (same to, from and body) already exists at the provider, handed over at or after
   * `since`: asked before resending a message whose earlier attempt may have reached the provider and lost its
   * answer, so that a resend never doubles a message silently. Undefined: the provider has no such message.
   */
  findSent(message: OutboundSms, since: Date): Promise<ProviderSendResult | undefined>;
}

/**
 * The provider refused the message. `recipientOptedOut` marks the refusals that mean
 * "this recipient opted out at the carrier/provider" (Twilio 21610, Telnyx 40300, Bandwidth 4775);
 * `retryable` is false for refusals that retrying cannot fix.
 */
export class ProviderRejectedError extends Error {
  override readonly name = 'ProviderRejectedError';
  constructor(
    message: string,
    readonly provider: string,
    readonly code: string,
    readonly recipientOptedOut: boolean,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}
