import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One message the fake accepted. `from` is '' when the sender was a Messaging Service. Tests may change its dates and status. */
export interface FakeTwilioMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  /** the header, when the request carried one: recorded, never acted on (Twilio documents no such key for Messages) */
  idempotencyToken?: string;
  messagingServiceSid?: string;
  statusCallback?: string;
  status: string;
  dateCreated: Date;
  /** null until Twilio sends it: a queued or accepted message has no date_sent */
  dateSent: Date | null;
}

/** How an accepted message's answer gets lost: the connection drops, or Twilio answers 500 after taking it. */
export type LostAnswer = 'drop-connection' | 'http-500';

export interface FakeTwilio {
  baseUrl: string;
  accountSid: string;
  authToken: string;
  /** every accepted message, in order */
  messages: FakeTwilioMessage[];
  /** every POST received, including rejected ones */
  requests: number;
  /** every GET of the Messages list received, including failed ones */
  lookups: number;
  /** numbers that get error 21610 */
  optedOut: Set<string>;
  /** every send the engine asked for, accepted or refused (a 21610 included), in order */
  sendAttempts: { to: string; from: string; body: string }[];
  /** the keyword replies Twilio itself sent (default filtering or Advanced Opt-Out), in order */
  autoReplies: { to: string; from: string; body: string }[];
  /**
   * A text reaching Twilio from a contact, before Twilio calls the webhook: with `filtering` on, Twilio answers its
   * own keywords as its docs say (a single word, case-insensitive: STOP…QUIT opt out, START/YES/UNSTOP opt in,
   * HELP/INFO) and, with Advanced Opt-Out, names what it did in the webhook's OptOutType. Returns that OptOutType.
   */
  receiveText(text: { from: string; to: string; body: string }, filtering: 'off' | 'default' | 'advanced-opt-out'): 'STOP' | 'START' | 'HELP' | null;
  /** make the next N sends fail with HTTP 500, before Twilio takes the message */
  failNext(n: number): void;
  /** make the next N list reads fail with HTTP 500 */
  failNextLookups(n: number): void;
  /** take the next N messages (they are recorded and would go out) but lose the answer */
  loseNextAnswers(n: number, how?: LostAnswer): void;
  /** the most messages a list page holds, whatever PageSize asks (Twilio's maximum is 1000): lets a test see paging */
  maxPageSize: number;
  /** hold every send's answer this long: a slow provider, so a test can act while a send is in flight */
  holdMs: number;
  close(): Promise<void>;
}

/** Twilio's default keyword filtering (help.twilio.com, "Twilio support for opt-out keywords (SMS STOP filtering)"). */
const TWILIO_KEYWORDS = { optOut: ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'], optIn: ['START', 'YES', 'UNSTOP'], help: ['HELP', 'INFO'] };
const TWILIO_AUTO_REPLIES = {
  STOP: 'You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.',
  START: 'You have successfully been re-subscribed to messages from this number. Reply HELP for help. Reply STOP to unsubscribe.',
  HELP: 'Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
};

const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;
/** Twilio's list default and maximum PageSize. */
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

/**
 * A local stand-in for Twilio's Messages API: create (auth, required fields, 21610) and list (To, From, DateSent>=,
 * PageSize, next_page_uri). Like Twilio, it sends every POST it accepts: a repeated request is a second message.
 */
export async function startFakeTwilio(): Promise<FakeTwilio> {
  const accountSid = `AC${randomBytes(16).toString('hex')}`;
  const authToken = randomBytes(16).toString('hex');
  const expectedAuthorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  let failuresLeft = 0;
  let lookupFailuresLeft = 0;
  const answersToLose: LostAnswer[] = [];

  const server = createServer((request, response) => {
    void answer(request, response).catch((error: unknown) => {
      sendError(response, 500, 20500, `Fake Twilio crashed: ${String(error)}`);
    });
  });

  const fake: FakeTwilio = {
    baseUrl: '',
    accountSid,
    authToken,
    messages: [],
    requests: 0,
    lookups: 0,
    optedOut: new Set<string>(),
    sendAttempts: [],
    autoReplies: [],
    receiveText({ from, to, body }, filtering) {
      if (filtering === 'off') return null;
      const word = body.trim().toUpperCase();
      const kind = TWILIO_KEYWORDS.optOut.includes(word) ? 'STOP' : TWILIO_KEYWORDS.optIn.includes(word) ? 'START' : TWILIO_KEYWORDS.help.includes(word) ? 'HELP' : null;
      if (kind === null) return null;
      if (kind === 'STOP') fake.optedOut.add(from);
      if (kind === 'START') fake.optedOut.delete(from);
      fake.autoReplies.push({ to: from, from: to, body: TWILIO_AUTO_REPLIES[kind] });
      return filtering === 'advanced-opt-out' ? kind : null;
    },
    failNext(n: number) {
      failuresLeft = n;
    },
    failNextLookups(n: number) {
      lookupFailuresLeft = n;
    },
    loseNextAnswers(n: number, how: LostAnswer = 'drop-connection') {
      answersToLose.splice(0, answersToLose.length, ...Array<LostAnswer>(n).fill(how));
    },
    maxPageSize: MAX_PAGE_SIZE,
    holdMs: 0,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // fetch keeps connections alive; without this close() waits for them to idle out.
        server.closeAllConnections();
      }),
  };

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const pathAccountSid = MESSAGES_PATH.exec(url.pathname)?.[1];
    if (pathAccountSid === undefined) {
      return sendError(response, 404, 20404, `The requested resource ${url.pathname} was not found`);
    }
    if (request.method === 'GET') return list(request, response, url, pathAccountSid);
    if (request.method !== 'POST') {
      return sendError(response, 405, 20004, 'Method not allowed');
    }
    const form = new URLSearchParams(await readBody(request));
    fake.requests += 1;
    if (fake.holdMs > 0) await new Promise((resolve) => setTimeout(resolve, fake.holdMs));

    if (failuresLeft > 0) {
      failuresLeft -= 1;
      return sendError(response, 500, 20500, 'Internal Server Error');
    }
    if (!authorised(request, pathAccountSid)) return sendError(response, 401, 20003, 'Authenticate');

    const to = form.get('To') ?? '';
    const from = form.get('From') ?? '';
    const messagingServiceSid = form.get('MessagingServiceSid') ?? undefined;
    const body = form.get('Body') ?? '';
    const statusCallback = form.get('StatusCallback') ?? undefined;
    const idempotencyToken = headerValue(request.headers['i-twilio-idempotency-token']);
    if (!to) return sendError(response, 400, 21604, "A 'To' phone number is required.");
    if (!from && !messagingServiceSid) return sendError(response, 400, 21603, "A 'From' phone number is required.");
    if (!body) return sendError(response, 400, 21602, 'Message body is required.');
    fake.sendAttempts.push({ to, from, body });
    if (fake.optedOut.has(to)) return sendError(response, 400, 21610, 'Attempt to send to unsubscribed recipient');

    const message: FakeTwilioMessage = {
      sid: `SM${randomBytes(16).toString('hex')}`,
      to,
      from,
      body,
      ...(idempotencyToken === undefined ? {} : { idempotencyToken }),
      ...(messagingServiceSid === undefined ? {} : { messagingServiceSid }),
      ...(statusCallback === undefined ? {} : { statusCallback }),
      // Twilio answers "accepted" when a Messaging Service still has to pick the sender.
      status: messagingServiceSid ? 'accepted' : 'queued',
      dateCreated: new Date(),
      dateSent: null,
    };
    fake.messages.push(message);

    const lost = answersToLose.shift();
    if (lost === 'drop-connection') {
      request.socket.destroy();
      return;
    }
    if (lost === 'http-500') return sendError(response, 500, 20500, 'Internal Server Error');
    sendJson(response, 201, messageResource(message));
  }

  /** GET Messages.json: newest date_sent first, unsent (date_sent null) before all of them; DateSent>= by UTC day. */
  function list(request: IncomingMessage, response: ServerResponse, url: URL, pathAccountSid: string): void {
    fake.lookups += 1;
    if (lookupFailuresLeft > 0) {
      lookupFailuresLeft -= 1;
      return sendError(response, 500, 20500, 'Internal Server Error');
    }
    if (!authorised(request, pathAccountSid)) return sendError(response, 401, 20003, 'Authenticate');

    const query = url.searchParams;
    const to = query.get('To');
    const from = query.get('From');
    // `DateSent>=2024-05-01` on the wire is the parameter `DateSent>` with the value `2024-05-01`.
    const sentOnOrAfter = query.get('DateSent>');
    const sentFromMs = sentOnOrAfter === null ? undefined : Date.parse(`${sentOnOrAfter}T00:00:00Z`);
    if (sentFromMs !== undefined && Number.isNaN(sentFromMs)) return sendError(response, 400, 20001, 'Invalid date value.');
    const pageSize = Math.min(Number(query.get('PageSize') ?? DEFAULT_PAGE_SIZE) || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, fake.maxPageSize);
    const offset = Number(query.get('PageToken')?.replace(/^PA/, '') ?? 0) || 0;

    const selected = fake.messages
      .filter((m) => (to === null || m.to === to) && (from === null || m.from === from))
      .filter((m) => sentFromMs === undefined || (m.dateSent !== null && m.dateSent.getTime() >= sentFromMs))
      .sort((a, b) => (b.dateSent?.getTime() ?? Infinity) - (a.dateSent?.getTime() ?? Infinity) || b.dateCreated.getTime() - a.dateCreated.getTime());
    const page = selected.slice(offset, offset + pageSize);

    const pageUri = (pageOffset: number) => {
      const pageQuery = new URLSearchParams(query);
      pageQuery.set('PageSize', String(pageSize));
      pageQuery.set('Page', String(Math.floor(pageOffset / pageSize)));
      pageQuery.set('PageToken', `PA${pageOffset}`);
      return `${url.pathname}?${pageQuery.toString()}`;
    };
    sendJson(response, 200, {
      messages: page.map(messageResource),
      page: Math.floor(offset / pageSize),
      page_size: pageSize,
      start: offset,
      end: offset + Math.max(page.length - 1, 0),
      uri: pageUri(offset),
      first_page_uri: pageUri(0),
      previous_page_uri: offset > 0 ? pageUri(Math.max(offset - pageSize, 0)) : null,
      next_page_uri: offset + pageSize < selected.length ? pageUri(offset + pageSize) : null,
    });
  }

  function authorised(request: IncomingMessage, pathAccountSid: string): boolean {
    return request.headers.authorization === expectedAuthorization && decodeURIComponent(pathAccountSid) === accountSid;
  }

  /** The Message resource as Twilio's API shows it (dates in RFC 2822, GMT). */
  function messageResource(message: FakeTwilioMessage): object {
    return {
      sid: message.sid,
      account_sid: accountSid,
      to: message.to,
      from: message.from || null,
      messaging_service_sid: message.messagingServiceSid ?? null,
      body: message.body,
      status: message.status,
      direction: 'outbound-api',
      num_segments: '1',
      api_version: '2010-04-01',
      date_created: message.dateCreated.toUTCString(),
      date_updated: (message.dateSent ?? message.dateCreated).toUTCString(),
      date_sent: message.dateSent?.toUTCString() ?? null,
      error_code: null,
      error_message: null,
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${message.sid}.json`,
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(response: ServerResponse, status: number, json: object): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(json));
}

/** Twilio's error shape: https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions */
function sendError(response: ServerResponse, status: number, code: number, message: string): void {
  sendJson(response, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}
