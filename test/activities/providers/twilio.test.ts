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
      },
    ]);
  });

  it('a retried send with the same idempotency key reaches the recipient once and returns the same sid', async () => {
    const sms = outbound();
    const requestsBefore = twilio.requests;

    const first = await provider().send(sms);
    const retry = await provider().send({ ...sms });

    expect(twilio.requests - requestsBefore).toBe(2);
    expect(twilio.messages.filter((m) => m.to === sms.to)).toHaveLength(1);
    expect(retry.providerMessageId).toBe(first.providerMessageId);
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
    // Once Twilio recovers, the retry goes through and sends once.
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
