import { z } from 'zod';
import { ProviderRejectedError, type OutboundSms, type ProviderSendResult, type SmsProvider } from './provider';

export interface TwilioSettings {
  accountSid: string;
  authToken: string;
  /** Default https://api.twilio.com; tests point it at the fake server. */
  baseUrl?: string;
  /** When set, Twilio picks the sender from the Messaging Service and `From` is not sent. */
  messagingServiceSid?: string;
  /** Where Twilio posts delivery status changes for each message. */
  statusCallbackUrl?: string;
  /** Default 10000. */
  timeoutMs?: number;
}

/** Provider error codes that mean the recipient opted out, across providers (consent-rules §4). */
export const RECIPIENT_OPTED_OUT_CODES = {
  /** Twilio 21610: "Attempt to send to unsubscribed recipient". */
  twilio: '21610',
  /** Telnyx 40300: "Blocked due to STOP message". */
  telnyx: '40300',
  /** Bandwidth 4775: "Carrier rejected: recipient has opted out". */
  bandwidth: '4775',
} as const;

const DEFAULT_BASE_URL = 'https://api.twilio.com';
const DEFAULT_TIMEOUT_MS = 10_000;

/** The part of Twilio's Message resource we read on acceptance. */
const twilioMessageSchema = z.object({ sid: z.string().min(1), status: z.string() });

/** Twilio's error body: https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions */
const twilioErrorSchema = z.object({
  code: z.union([z.number(), z.string()]).nullish(),
  message: z.string().nullish(),
  more_info: z.string().nullish(),
  status: z.number().nullish(),
});

export function createTwilioProvider(settings: TwilioSettings): SmsProvider {
  const baseUrl = (settings.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const messagesUrl = `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(settings.accountSid)}/Messages.json`;
  const authorization = `Basic ${Buffer.from(`${settings.accountSid}:${settings.authToken}`).toString('base64')}`;

  /** Error text may echo request details back; the auth token must never reach a log or a workflow history. */
  const redact = (text: string): string =>
    settings.authToken ? text.split(settings.authToken).join('[redacted]') : text;

  const reject = (message: string, code: string, retryable: boolean): ProviderRejectedError =>
    new ProviderRejectedError(redact(message), 'twilio', code, code === RECIPIENT_OPTED_OUT_CODES.twilio, retryable);

  return {
    name: 'twilio',

    async send(message: OutboundSms): Promise<ProviderSendResult> {
      const form = new URLSearchParams({ To: message.to, Body: message.body });
      if (settings.messagingServiceSid) form.set('MessagingServiceSid', settings.messagingServiceSid);
      else form.set('From', message.from);
      if (settings.statusCallbackUrl) form.set('StatusCallback', settings.statusCallbackUrl);

      let status: number;
      let text: string;
      try {
        const response = await fetch(messagesUrl, {
          method: 'POST',
          headers: {
            Authorization: authorization,
            'Content-Type': 'application/x-www-form-urlencoded',
            Accept: 'application/json',
            // Twilio drops a repeat of the same token, so an activity retry after a lost answer sends once.
            'I-Twilio-Idempotency-Token': message.idempotencyKey,
          },
          body: form.toString(),
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = response.status;
        text = await response.text();
      } catch (error) {
        // The message may or may not have gone out; a retry is safe because of the idempotency token.
        throw reject(describeNetworkFailure(error, timeoutMs), 'network', true);
      }

      const json = parseJson(text);

      if (status >= 200 && status < 300) {
        const accepted = twilioMessageSchema.safeParse(json);
        if (!accepted.success) {
          // Twilio answered 2xx but not with a Message; retrying with the same token returns the real one.
          throw reject(`Twilio answered HTTP ${status} without a message sid`, 'unexpected-response', true);
        }
        return { providerMessageId: accepted.data.sid, status: accepted.data.status };
      }

      const twilioError = twilioErrorSchema.safeParse(json);
      const code =
        twilioError.success && twilioError.data.code != null ? String(twilioError.data.code) : `http-${status}`;
      const detail = (twilioError.success && twilioError.data.message) || text.slice(0, 200) || 'no error body';
      // 429 and 5xx are Twilio being busy or broken; any other 4xx is about this request and will fail again.
      const retryable = status === 429 || status >= 500;
      throw reject(`Twilio refused the message (HTTP ${status}, code ${code}): ${detail}`, code, retryable);
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeNetworkFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `Twilio did not answer within ${timeoutMs} ms`;
  }
  // undici reports "fetch failed" and puts the useful part (ECONNREFUSED, ENOTFOUND, ...) in `cause`.
  const cause = error instanceof Error ? error.cause : undefined;
  const reason =
    cause instanceof Error ? `${cause.message}` : error instanceof Error ? error.message : String(error);
  return `Twilio request failed before an answer: ${reason}`;
}
