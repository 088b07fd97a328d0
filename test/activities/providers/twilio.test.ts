import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderRejectedError, type OutboundSms } from '../../../activities/providers/provider';
import { createTwilioProvider, type TwilioSettings } from '../../../activities/providers/twilio';
import { startFakeTwilio, type FakeTwilio } from '../../support/fake-twilio';

let twilio: FakeTwilio;
let numberSeq = 0;

beforeAll(async () => {
  twilio = await startFakeTwilio();
});

afterAll(async () => {
  await twilio.close();
});

/** Each test sends to its own number so no test depends on another's messages. */
function outbound(overrides: Partial<OutboundSms> = {}): OutboundSms {
  numberSeq += 1;
  return {
    idempotencyKey: randomUUID(),
    to: `+1555010${String(numberSeq).padStart(4, '0')}`,
    from: '+15550009999',
    body: 'Your order shipped. Reply STOP to opt out.',
    ...overrides,
  };
}

function provider(overrides: Partial<TwilioSettings> = {}) {
  return createTwilioProvider({
    accountSid: twilio.accountSid,
    authToken: twilio.authToken,
    baseUrl: twilio.baseUrl,
    ...overrides,
  });
}

async function rejection(promise: Promise<unknown>): Promise<ProviderRejectedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderRejectedError);
  return error as ProviderRejectedError;
}

/** A port nothing listens on: bind one, then let it go. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Twilio provider', () => {
  it('is named twilio', () => {
    expect(provider().name).toBe('twilio');
  });

  it('a send returns Twilio’s message sid and Twilio records To, From and Body under our basic auth', async () => {
    const sms = outbound();

    const result = await provider().send(sms);

    expect(result.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(result.status).toBe('queued');
    // The fake only accepts the account's basic-auth credentials, so being recorded proves them.
    const recorded = twilio.messages.filter((m) => m.to === sms.to);
    expect(recorded).toEqual([
      {
        sid: result.providerMessageId,
        to: sms.to,
        from: sms.from,
        body: sms.body,
        idempotencyToken: sms.idempotencyKey,
        status: 'queued',
        dateCreated: expect.any(Date),
        dateSent: null,
      },
    ]);
  });

  it('Twilio documents no idempotency key for Messages: the same send twice is two messages, so retries must look first', async () => {
    const sms = outbound();

    const first = await provider().send(sms);
    const second = await provider().send({ ...sms });

    expect(second.providerMessageId).not.toBe(first.providerMessageId);
    expect(twilio.messages.filter((m) => m.to === sms.to).map((m) => m.sid)).toEqual([first.providerMessageId, second.providerMessageId]);
  });

  it('Twilio 21610 (recipient opted out at Twilio) is an opt-out refusal that retrying cannot fix', async () => {
    const sms = outbound();
    twilio.optedOut.add(sms.to);

    const error = await rejection(provider().send(sms));

    expect(error.provider).toBe('twilio');
    expect(error.code).toBe('21610');
    expect(error.recipientOptedOut).toBe(true);
    expect(error.retryable).toBe(false);
    expect(twilio.messages.filter((m) => m.to === sms.to)).toHaveLength(0);
  });

  it('an HTTP 500 from Twilio is retryable and is not an opt-out', async () => {
    const sms = outbound();
    twilio.failNext(1);

    const error = await rejection(provider().send(sms));

    expect(error.retryable).toBe(true);
    expect(error.recipientOptedOut).toBe(false);
    expect(error.code).toBe('20500');
    // This 500 came before Twilio took the message: once it recovers, the retry sends it once.
    await provider().send(sms);
    expect(twilio.messages.filter((m) => m.to === sms.to)).toHaveLength(1);
  });

  it('a wrong auth token is not retryable and the error never shows the token', async () => {
    const wrongToken = `wrong-${randomUUID()}`;
    const sms = outbound();

    const error = await rejection(provider({ authToken: wrongToken }).send(sms));

    expect(error.code).toBe('20003');
    expect(error.retryable).toBe(false);
    expect(error.recipientOptedOut).toBe(false);
    expect(error.message).not.toContain(wrongToken);
    expect(JSON.stringify(error)).not.toContain(wrongToken);
    expect(error.message).not.toContain(twilio.authToken);
  });

  it('an unreachable Twilio is a retryable network failure', async () => {
    const baseUrl = `http://127.0.0.1:${await closedPort()}`;

    const error = await rejection(provider({ baseUrl }).send(outbound()));

    expect(error.code).toBe('network');
    expect(error.retryable).toBe(true);
    expect(error.recipientOptedOut).toBe(false);
  });

  it('a Twilio that does not answer within timeoutMs is a retryable network failure', async () => {
    const silent = createHttpServer(() => {
      /* never answers */
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const error = await rejection(provider({ baseUrl, timeoutMs: 200 }).send(outbound()));

      expect(error.code).toBe('network');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('200 ms');
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('with a Messaging Service configured, MessagingServiceSid is sent instead of From', async () => {
    const messagingServiceSid = `MG${'0'.repeat(32)}`;
    const sms = outbound();

    const result = await provider({ messagingServiceSid }).send(sms);

    const recorded = twilio.messages.find((m) => m.to === sms.to);
    expect(recorded?.sid).toBe(result.providerMessageId);
    expect(recorded?.messagingServiceSid).toBe(messagingServiceSid);
    expect(recorded?.from).toBe('');
  });

  it('a configured status callback URL is sent with each message', async () => {
    const statusCallbackUrl = 'https://sms.example.test/webhooks/twilio/status';
    const sms = outbound();

    await provider({ statusCallbackUrl }).send(sms);

    expect(twilio.messages.find((m) => m.to === sms.to)?.statusCallback).toBe(statusCallbackUrl);
  });
});

/** Twilio has sent it: it now has a date_sent (and the list's DateSent filter sees it). */
function markSentAtTwilio(sid: string, at = new Date()): void {
  const message = twilio.messages.find((m) => m.sid === sid)!;
  message.status = 'sent';
  message.dateSent = at;
}

const MINUTE_MS = 60_000;
const aMinuteAgo = () => new Date(Date.now() - MINUTE_MS);

describe('Twilio findSent: is this message already at Twilio?', () => {
  it('finds a message Twilio has sent, by to, from and body, with its sid and status', async () => {
    const sms = outbound();
    const since = aMinuteAgo();
    const { providerMessageId } = await provider().send(sms);
    markSentAtTwilio(providerMessageId);

    expect(await provider().findSent(sms, since)).toEqual({ providerMessageId, status: 'sent' });
  });

  it('finds a message Twilio still has queued, which has no date_sent for the DateSent filter to see', async () => {
    const sms = outbound();
    const since = aMinuteAgo();
    const { providerMessageId } = await provider().send(sms);

    expect(await provider().findSent(sms, since)).toEqual({ providerMessageId, status: 'queued' });
  });

  it('a message to the same number with another body, or from another sender, is not this message', async () => {
    const sms = outbound();
    const since = aMinuteAgo();
    const otherBody = await provider().send({ ...sms, idempotencyKey: randomUUID(), body: `${sms.body} (2)` });
    const otherSender = await provider().send({ ...sms, idempotencyKey: randomUUID(), from: '+15550008888' });
    markSentAtTwilio(otherBody.providerMessageId);

    expect(await provider().findSent(sms, since)).toBeUndefined();
    // The same lookup finds each of the other two by its own body and sender.
    expect((await provider().findSent({ ...sms, body: `${sms.body} (2)` }, since))?.providerMessageId).toBe(otherBody.providerMessageId);
    expect((await provider().findSent({ ...sms, from: '+15550008888' }, since))?.providerMessageId).toBe(otherSender.providerMessageId);
  });

  it('the same message taken by Twilio before `since` is an earlier send, not this one', async () => {
    const sms = outbound();
    const { providerMessageId } = await provider().send(sms);
    const earlier = twilio.messages.find((m) => m.sid === providerMessageId)!;
    earlier.dateCreated = new Date(Date.now() - 120 * MINUTE_MS);
    markSentAtTwilio(providerMessageId, new Date(Date.now() - 119 * MINUTE_MS));

    expect(await provider().findSent(sms, aMinuteAgo())).toBeUndefined();
    expect((await provider().findSent(sms, new Date(Date.now() - 121 * MINUTE_MS)))?.providerMessageId).toBe(providerMessageId);
  });

  it('follows next_page_uri to a message several pages down the list', async () => {
    const sms = outbound();
    const since = aMinuteAgo();
    const target = await provider().send(sms);
    markSentAtTwilio(target.providerMessageId, new Date(Date.now() - 10_000));
    for (let n = 1; n <= 5; n += 1) {
      const later = await provider().send({ ...sms, idempotencyKey: randomUUID(), body: `later message ${n}` });
      markSentAtTwilio(later.providerMessageId, new Date(Date.now() - 10_000 + n * 1000));
    }
    twilio.maxPageSize = 2;
    const lookupsBefore = twilio.lookups;
    try {
      expect(await provider().findSent(sms, since)).toEqual({ providerMessageId: target.providerMessageId, status: 'sent' });
      // Newest first, two to a page: the target is on page 3 of each read.
      expect(twilio.lookups - lookupsBefore).toBe(6);
    } finally {
      twilio.maxPageSize = 1000;
    }
  });

  it('a thread longer than the pages a lookup reads is "unknown", a retryable refusal, never "not sent"', async () => {
    const sms = outbound();
    const since = aMinuteAgo();
    for (let n = 1; n <= 6; n += 1) {
      const other = await provider().send({ ...sms, idempotencyKey: randomUUID(), body: `other message ${n}` });
      markSentAtTwilio(other.providerMessageId);
    }
    twilio.maxPageSize = 1;
    try {
      const error = await rejection(provider().findSent(sms, since));

      expect(error.code).toBe('lookup-inconclusive');
      expect(error.retryable).toBe(true);
      expect(error.recipientOptedOut).toBe(false);
    } finally {
      twilio.maxPageSize = 1000;
    }
  });

  it('an HTTP 500 on the lookup is retryable, and the retry finds the message', async () => {
    const sms = outbound();
    const since = aMinuteAgo();
    const { providerMessageId } = await provider().send(sms);
    twilio.failNextLookups(1);

    const error = await rejection(provider().findSent(sms, since));

    expect(error.code).toBe('20500');
    expect(error.retryable).toBe(true);
    expect((await provider().findSent(sms, since))?.providerMessageId).toBe(providerMessageId);
  });

  it('a wrong auth token on the lookup is not retryable and never shows the token', async () => {
    const wrongToken = `wrong-${randomUUID()}`;

    const error = await rejection(provider({ authToken: wrongToken }).findSent(outbound(), aMinuteAgo()));

    expect(error.code).toBe('20003');
    expect(error.retryable).toBe(false);
    expect(JSON.stringify(error)).not.toContain(wrongToken);
    expect(error.message).not.toContain(wrongToken);
  });

  it('with a Messaging Service, a message is matched by its service, not by From', async () => {
    const messagingServiceSid = `MG${'1'.repeat(32)}`;
    const sms = outbound();
    const since = aMinuteAgo();
    const { providerMessageId } = await provider({ messagingServiceSid }).send(sms);

    expect(await provider({ messagingServiceSid }).findSent(sms, since)).toEqual({ providerMessageId, status: 'accepted' });
    expect(await provider({ messagingServiceSid: `MG${'2'.repeat(32)}` }).findSent(sms, since)).toBeUndefined();
    // Sent through the service, it has no From of ours to match without one.
    expect(await provider().findSent(sms, since)).toBeUndefined();
  });

  for (const how of ['drop-connection', 'http-500'] as const) {
    it(`a send Twilio took but whose answer was lost (${how}) is retryable, and findSent finds it instead of a second send`, async () => {
      const sms = outbound();
      const since = aMinuteAgo();
      twilio.loseNextAnswers(1, how);

      const error = await rejection(provider().send(sms));

      expect(error.retryable).toBe(true);
      const taken = twilio.messages.filter((m) => m.to === sms.to);
      expect(taken).toHaveLength(1);
      expect(await provider().findSent(sms, since)).toEqual({ providerMessageId: taken[0]!.sid, status: 'queued' });
    });
  }

  it('a next_page_uri pointing at another host is not followed: the credentials stay with Twilio', async () => {
    let elsewhereHits = 0;
    const elsewhere = createHttpServer((_request, response) => {
      elsewhereHits += 1;
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ messages: [], next_page_uri: null }));
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/next`;
    const misleading = createHttpServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ messages: [], next_page_uri: elsewhereUrl }));
    });
    await new Promise<void>((resolve) => misleading.listen(0, '127.0.0.1', resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(misleading.address() as AddressInfo).port}`;

      const error = await rejection(provider({ baseUrl }).findSent(outbound(), aMinuteAgo()));

      expect(error.code).toBe('unexpected-response');
      expect(error.retryable).toBe(true);
      expect(elsewhereHits).toBe(0);
    } finally {
      for (const server of [elsewhere, misleading]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }
  });
});
