import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One message the fake accepted. `from` is '' when the sender was a Messaging Service. */
export interface FakeTwilioMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  idempotencyToken?: string;
  messagingServiceSid?: string;
  statusCallback?: string;
}

export interface FakeTwilio {
  baseUrl: string;
  accountSid: string;
  authToken: string;
  /** every accepted message, in order */
  messages: FakeTwilioMessage[];
  /** every POST received, including rejected and idempotent repeats */
  requests: number;
  /** numbers that get error 21610 */
  optedOut: Set<string>;
  /** make the next N requests fail with HTTP 500 */
  failNext(n: number): void;
  /** hold every answer this long: a slow provider, so a test can act while a send is in flight */
  holdMs: number;
  close(): Promise<void>;
}

const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;

/** A local stand-in for Twilio's Messages API: auth, required fields, 21610 and idempotency tokens. */
export async function startFakeTwilio(): Promise<FakeTwilio> {
  const accountSid = `AC${randomBytes(16).toString('hex')}`;
  const authToken = randomBytes(16).toString('hex');
  const expectedAuthorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  /** Idempotency token → the 201 body first returned for it. */
  const acceptedByToken = new Map<string, object>();
  let failuresLeft = 0;

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
    optedOut: new Set<string>(),
    failNext(n: number) {
      failuresLeft = n;
    },
    holdMs: 0,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // fetch keeps connections alive; without this close() waits for them to idle out.
        server.closeAllConnections();
      }),
  };

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://fake').pathname;
    const pathAccountSid = MESSAGES_PATH.exec(path)?.[1];
    if (pathAccountSid === undefined) {
      return sendError(response, 404, 20404, `The requested resource ${path} was not found`);
    }
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
    if (request.headers.authorization !== expectedAuthorization || decodeURIComponent(pathAccountSid) !== accountSid) {
      return sendError(response, 401, 20003, 'Authenticate');
    }

    const idempotencyToken = headerValue(request.headers['i-twilio-idempotency-token']);
    const earlier = idempotencyToken === undefined ? undefined : acceptedByToken.get(idempotencyToken);
    if (earlier) return sendJson(response, 201, earlier);

    const to = form.get('To') ?? '';
    const from = form.get('From') ?? '';
    const messagingServiceSid = form.get('MessagingServiceSid') ?? undefined;
    const body = form.get('Body') ?? '';
    const statusCallback = form.get('StatusCallback') ?? undefined;
    if (!to) return sendError(response, 400, 21604, "A 'To' phone number is required.");
    if (!from && !messagingServiceSid) return sendError(response, 400, 21603, "A 'From' phone number is required.");
    if (!body) return sendError(response, 400, 21602, 'Message body is required.');
    if (fake.optedOut.has(to)) return sendError(response, 400, 21610, 'Attempt to send to unsubscribed recipient');

    const sid = `SM${randomBytes(16).toString('hex')}`;
    fake.messages.push({
      sid,
      to,
      from,
      body,
      ...(idempotencyToken === undefined ? {} : { idempotencyToken }),
      ...(messagingServiceSid === undefined ? {} : { messagingServiceSid }),
      ...(statusCallback === undefined ? {} : { statusCallback }),
    });
    const now = new Date().toUTCString();
    const resource = {
      sid,
      account_sid: accountSid,
      to,
      from: from || null,
      messaging_service_sid: messagingServiceSid ?? null,
      body,
      // Twilio answers "accepted" when a Messaging Service still has to pick the sender.
      status: messagingServiceSid ? 'accepted' : 'queued',
      direction: 'outbound-api',
      num_segments: '1',
      api_version: '2010-04-01',
      date_created: now,
      date_updated: now,
      date_sent: null,
      error_code: null,
      error_message: null,
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
    };
    if (idempotencyToken !== undefined) acceptedByToken.set(idempotencyToken, resource);
    sendJson(response, 201, resource);
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
