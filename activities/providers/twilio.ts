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
/** Messages per list page a lookup asks for (Twilio's default is 50, its maximum 1000). */
const LOOKUP_PAGE_SIZE = 100;
/** Pages one lookup pass reads before it calls the answer unknown rather than guess "not sent". */
const LOOKUP_MAX_PAGES = 5;

/** The part of Twilio's Message resource we read on acceptance. */
const twilioMessageSchema = z.object({ sid: z.string().min(1), status: z.string() });

const rfc2822Timestamp = z.string().refine((text) => !Number.isNaN(Date.parse(text)), 'not a timestamp');

/** The part of a listed Message a lookup compares: https://www.twilio.com/docs/messaging/api/message-resource */
const twilioListedMessageSchema = twilioMessageSchema.extend({
  to: z.string().nullish(),
  from: z.string().nullish(),
  body: z.string().nullish(),
  direction: z.string(),
  messaging_service_sid: z.string().nullish(),
  date_created: rfc2822Timestamp,
});
type TwilioListedMessage = z.infer<typeof twilioListedMessageSchema>;

/** One page of Twilio's Messages list; `next_page_uri` is null on the last page. */
const twilioMessagePageSchema = z.object({
  messages: z.array(twilioListedMessageSchema),
  next_page_uri: z.string().nullish(),
});

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

  async function call(url: string, init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string }) {
    try {
      const response = await fetch(url, {
        ...init,
        headers: { Authorization: authorization, Accept: 'application/json', ...init.headers },
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      // A POST may or may not have reached Twilio: a caller retrying it asks findSent first.
      throw reject(describeNetworkFailure(error, timeoutMs), 'network', true);
    }
  }

  function refusal(status: number, text: string, what: string): ProviderRejectedError {
    const twilioError = twilioErrorSchema.safeParse(parseJson(text));
    const code =
      twilioError.success && twilioError.data.code != null ? String(twilioError.data.code) : `http-${status}`;
    const detail = (twilioError.success && twilioError.data.message) || text.slice(0, 200) || 'no error body';
    // 429 and 5xx are Twilio being busy or broken; any other 4xx is about this request and will fail again.
    const retryable = status === 429 || status >= 500;
    return reject(`Twilio refused ${what} (HTTP ${status}, code ${code}): ${detail}`, code, retryable);
  }

  /** One page of the Messages list, and where the next one is (only ever on Twilio's own host: it carries our credentials). */
  async function readPage(url: string): Promise<{ messages: TwilioListedMessage[]; next: string | undefined }> {
    const { status, text } = await call(url, { method: 'GET' });
    if (status < 200 || status >= 300) throw refusal(status, text, 'the message lookup');
    const page = twilioMessagePageSchema.safeParse(parseJson(text));
    if (!page.success) throw reject(`Twilio answered the message lookup with HTTP ${status} but not a message list`, 'unexpected-response', true);
    if (!page.data.next_page_uri) return { messages: page.data.messages, next: undefined };
    const next = new URL(page.data.next_page_uri, baseUrl);
    if (next.origin !== new URL(baseUrl).origin) throw reject('Twilio’s next page of messages is on another host', 'unexpected-response', true);
    return { messages: page.data.messages, next: next.toString() };
  }

  /** Every match in the list this query selects, and whether the list went on past LOOKUP_MAX_PAGES. */
  async function matchesIn(query: URLSearchParams, isThisMessage: (listed: TwilioListedMessage) => boolean) {
    const matches: TwilioListedMessage[] = [];
    let url: string | undefined = `${messagesUrl}?${query.toString()}`;
    for (let pagesRead = 0; url && pagesRead < LOOKUP_MAX_PAGES; pagesRead += 1) {
      const page = await readPage(url);
      matches.push(...page.messages.filter(isThisMessage));
      url = page.next;
    }
    return { matches, inconclusive: url !== undefined };
  }

  return {
    name: 'twilio',

    async send(message: OutboundSms): Promise<ProviderSendResult> {
      const form = new URLSearchParams({ To: message.to, Body: message.body });
      if (settings.messagingServiceSid) form.set('MessagingServiceSid', settings.messagingServiceSid);
      else form.set('From', message.from);
      if (settings.statusCallbackUrl) form.set('StatusCallback', settings.statusCallbackUrl);

      const { status, text } = await call(messagesUrl, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          // Twilio's Messages API documents no idempotency key (this is the header Twilio puts on its own webhooks):
          // it only labels the request. A repeat POST is a second message; retries go through findSent first.
          'I-Twilio-Idempotency-Token': message.idempotencyKey,
        },
        body: form.toString(),
      });

      if (status >= 200 && status < 300) {
        const accepted = twilioMessageSchema.safeParse(parseJson(text));
        if (!accepted.success) {
          // Twilio answered 2xx but not with a Message: it may have taken it, so a retry asks findSent before resending.
          throw reject(`Twilio answered HTTP ${status} without a message sid`, 'unexpected-response', true);
        }
        return { providerMessageId: accepted.data.sid, status: accepted.data.status };
      }
      throw refusal(status, text, 'the message');
    },

    /**
     * Reads the Messages list twice. `DateSent>=` (a UTC day) finds what Twilio has sent since; it cannot see a message
     * still queued or accepted, whose date_sent is empty until Twilio sends it, so a second read without it finds those.
     * Both compare date_created (when Twilio took the message) with `since`, and the newest match wins.
     */
    async findSent(message: OutboundSms, since: Date): Promise<ProviderSendResult | undefined> {
      const sinceMs = since.getTime();
      const isThisMessage = (listed: TwilioListedMessage): boolean =>
        listed.direction.startsWith('outbound') &&
        listed.to === message.to &&
        listed.body === message.body &&
        // A Messaging Service picks the sender, so From is unknown here; Twilio gives messages sent without one a default sid.
        (settings.messagingServiceSid
          ? listed.messaging_service_sid == null || listed.messaging_service_sid === settings.messagingServiceSid
          : listed.from === message.from) &&
        Date.parse(listed.date_created) >= sinceMs;

      const query = new URLSearchParams({ To: message.to, PageSize: String(LOOKUP_PAGE_SIZE) });
      if (!settings.messagingServiceSid) query.set('From', message.from);
      const sentSinceDay = new URLSearchParams(query);
      sentSinceDay.set('DateSent>', since.toISOString().slice(0, 10));

      const sent = await matchesIn(sentSinceDay, isThisMessage);
      const unsentToo = await matchesIn(query, isThisMessage);
      const newest = [...sent.matches, ...unsentToo.matches].sort(
        (a, b) => Date.parse(b.date_created) - Date.parse(a.date_created),
      )[0];
      if (newest) return { providerMessageId: newest.sid, status: newest.status };
      if (sent.inconclusive || unsentToo.inconclusive) {
        throw reject(
          `Twilio lists more than ${LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE} messages on this thread without this one: whether it went out is unknown`,
          'lookup-inconclusive',
          true,
        );
      }
      return undefined;
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
