/**
 * A subscriber to consent events, on a local port: it verifies every request with the `standardwebhooks` library,
 * once per secret it holds (each secret's signature must be in the header), and answers what the test tells it
 * (503 through an outage, a delay to keep a request in flight).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { consentEventPayloadSchema, type ConsentEventPayload } from '../../workflows/domain/consent-events';

export interface ReceivedEvent {
  payload: ConsentEventPayload;
  /** the webhook-id header: the same as payload.id */
  webhookId: string;
  /** what the receiver answered */
  status: number;
  receivedAt: number;
}

export interface WebhookReceiver {
  url: string;
  /** every verified request, in the order they arrived, whatever was answered */
  requests: ReceivedEvent[];
  /** requests answered 2xx: what the subscriber took */
  accepted(): ReceivedEvent[];
  /** requests that failed verification or carried a payload of the wrong shape (each with why) */
  rejected: string[];
  /** from now on, answer with this status (e.g. 503 for an outage) */
  answer(status: number): void;
  /** from now on, hold each answer this long (keeps a delivery in flight) */
  delay(ms: number): void;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

export async function startWebhookReceiver({ secrets }: { secrets: string[] }): Promise<WebhookReceiver> {
  const verifiers = secrets.map((secret) => new Webhook(secret));
  const requests: ReceivedEvent[] = [];
  const rejected: string[] = [];
  let status = 200;
  let delayMs = 0;

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const body = await readBody(request);
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
      let payload: ConsentEventPayload;
      try {
        // Every secret verifies on its own: the header carries one signature per secret (a rotation in progress).
        for (const verifier of verifiers) verifier.verify(body, headers);
        const parsed = consentEventPayloadSchema.safeParse(JSON.parse(body));
        if (!parsed.success) throw new Error(`payload of the wrong shape: ${parsed.error.message}`);
        payload = parsed.data as unknown as ConsentEventPayload;
        if (headers['webhook-id'] !== payload.id) throw new Error(`webhook-id ${headers['webhook-id']} is not the payload's id ${payload.id}`);
      } catch (error) {
        rejected.push(`${headers['webhook-id']}: ${(error as Error).message}`);
        response.writeHead(400).end();
        return;
      }
      const answer = status;
      requests.push({ payload, webhookId: headers['webhook-id']!, status: answer, receivedAt: Date.now() });
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      response.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : 'down for maintenance');
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/consent-events`,
    requests,
    accepted: () => requests.filter((request) => request.status >= 200 && request.status < 300),
    rejected,
    answer(next) {
      status = next;
    },
    delay(ms) {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
