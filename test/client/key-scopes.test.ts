import { randomUUID, type KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_KEY_SCOPES, type ApiKeyScope } from '../../client/config';
import { contactWorkflowId } from '../../client/consent-client';
import { ROUTE_SCOPES, routeScope } from '../../client/http/api-keys';
import { buildApiServer } from '../../client/http/server';
import { buildTestApi, inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { PUBLIC_BASE_URL, postSignedTelnyx, postSignedTwilio, telnyxKeys, telnyxReceived, twilioInboundForm } from '../support/signed-webhooks';

/** Every route each Fastify instance of this file registers, as "METHOD /pattern", seen by an onRoute hook added at its birth. */
const routesOf = vi.hoisted(() => new WeakMap<object, string[]>());
vi.mock('fastify', async (importOriginal) => {
  const fastify = await importOriginal<typeof import('fastify')>();
  const create = fastify.default as unknown as (...args: unknown[]) => FastifyInstance;
  function fastifyNotingRoutes(...args: unknown[]) {
    const app = create(...args);
    const routes: string[] = [];
    routesOf.set(app, routes);
    app.addHook('onRoute', ({ method, url }) => {
      for (const each of [method].flat()) routes.push(`${each} ${url}`);
    });
    return app;
  }
  return { ...fastify, default: fastifyNotingRoutes };
});

/** One key per scope, named as the clients that would hold it. */
const HOLDERS: Record<ApiKeyScope, string> = { inbound: 'sms-gw', send: 'crm', operator: 'ops', read: 'dashboard' };
const SECRETS = Object.fromEntries(API_KEY_SCOPES.map((scope) => [scope, `${scope}-secret-${randomUUID()}`])) as Record<ApiKeyScope, string>;
const API_KEYS = API_KEY_SCOPES.map((scope) => `${HOLDERS[scope]}:${scope}:${SECRETS[scope]}`);
const TWILIO_AUTH_TOKEN = `twilio-test-token-${randomUUID()}`;

let harness: Harness;
let telnyxSigningKey: KeyObject;
/** behind the four single-scope keys, with both providers' webhooks */
let keyed: FastifyInstance;
/** without keys, as on loopback */
let open: FastifyInstance;
beforeAll(async () => {
  harness = await startHarness();
  const telnyx = telnyxKeys();
  telnyxSigningKey = telnyx.signingKey;
  keyed = await buildTestApi(harness, harness.taskQueue, {
    apiKeys: API_KEYS,
    webhooks: { publicBaseUrl: PUBLIC_BASE_URL, twilioAuthToken: TWILIO_AUTH_TOKEN, telnyxPublicKey: telnyx.publicKey },
  });
  open = await buildTestApi(harness);
});
afterAll(async () => {
  await keyed?.close();
  await open?.close();
  await harness?.stop();
});

const bearer = (scope: ApiKeyScope) => ({ authorization: `Bearer ${SECRETS[scope]}` });

/** A request to the route with its parameters filled and no body: it gets past the keys, then fails validation or finds nothing. */
function requestTo(entry: string) {
  const [method, pattern] = entry.split(' ') as [string, string];
  const url = pattern
    .replace(':phone', encodeURIComponent(uniquePhone()))
    .replace(':campaignId', `no-such-campaign-${randomUUID()}`)
    .replace(':importId', `no-such-import-${randomUUID()}`);
  return { method: method as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url };
}

describe('the key-scope matrix', () => {
  const COLUMNS = [...API_KEY_SCOPES, 'no key', 'no keys (loopback)'] as const;
  const matrix = new Map<string, Partial<Record<(typeof COLUMNS)[number], number>>>();
  afterAll(() => {
    const width = Math.max(...[...matrix.keys()].map((route) => route.length));
    const lines = [`${'route'.padEnd(width)}  ${COLUMNS.join('  ')}`];
    for (const [route, row] of matrix) lines.push(`${route.padEnd(width)}  ${COLUMNS.map((column) => String(row[column] ?? '-').padEnd(column.length)).join('  ')}`);
    console.log(`route × scope → status\n${lines.join('\n')}`);
  });

  it.each(Object.entries(ROUTE_SCOPES))('%s: only a key with the "%s" scope gets past; no key is 401; without keys it is open', async (entry, needed) => {
    const row: Partial<Record<(typeof COLUMNS)[number], number>> = {};
    matrix.set(entry, row);
    for (const scope of API_KEY_SCOPES) {
      const response = await keyed.inject({ ...requestTo(entry), headers: bearer(scope) });
      row[scope] = response.statusCode;
      if (scope === needed) {
        expect([401, 403]).not.toContain(response.statusCode);
      } else {
        expect(response.statusCode).toBe(403);
        expect(response.json()).toEqual({ error: 'forbidden', message: `this API key (${HOLDERS[scope]}) lacks the "${needed}" scope that ${entry} needs` });
      }
    }
    const withoutKey = await keyed.inject(requestTo(entry));
    row['no key'] = withoutKey.statusCode;
    expect(withoutKey.statusCode).toBe(401);
    const loopback = await open.inject(requestTo(entry));
    row['no keys (loopback)'] = loopback.statusCode;
    expect([401, 403]).not.toContain(loopback.statusCode);
  });
});

describe('the route table', () => {
  it('every /v1 route the server registers has a scope, and every scope in the table is a registered route', () => {
    const registered = routesOf.get(keyed)!.filter((route) => route.split(' ')[1]!.startsWith('/v1/'));
    expect(registered.length).toBeGreaterThan(0);
    expect(registered.filter((route) => routeScope(...(route.split(' ') as [string, string])) === undefined)).toEqual([]);
    // HEAD routes are Fastify's copies of the GET ones, and take their scope.
    expect(new Set(registered.filter((route) => !route.startsWith('HEAD ')))).toEqual(new Set(Object.keys(ROUTE_SCOPES)));
  });

  it('a /v1 route missing from the table is refused to a key with every scope, and when the API runs without keys', async () => {
    const BARE_KEY = `bare-key-${randomUUID()}`;
    for (const apiKeys of [[BARE_KEY], []]) {
      const app = buildApiServer({ consent: harness.consent, client: harness.client, pool: harness.pool, namespace: harness.namespace, taskQueue: harness.taskQueue, apiKeys });
      app.get('/v1/route-without-a-scope', async () => ({ reached: true }));
      await app.ready();
      try {
        const response = await app.inject({ url: '/v1/route-without-a-scope', headers: { authorization: `Bearer ${BARE_KEY}` } });
        expect(response.statusCode).toBe(403);
        expect(response.json()).toEqual({ error: 'forbidden', message: 'GET /v1/route-without-a-scope has no scope assigned yet, so no API key may call it' });
      } finally {
        await app.close();
      }
    }
  });
});

describe('only the contact lifts an opt-out', () => {
  const contactState = async (contact: string) => {
    const response = await keyed.inject({ url: `/v1/contacts/${encodeURIComponent(contact)}`, headers: bearer('read') });
    expect(response.statusCode).toBe(200);
    return response.json() as { optedOut: boolean };
  };
  const signalsTo = async (contact: string) =>
    ((await harness.client.workflow.getHandle(contactWorkflowId(contact)).fetchHistory()).events ?? []).filter((event) => event.workflowExecutionSignaledEventAttributes);

  it('a START posted with a send-only key is 403, nothing reaches the actor, and the contact stays opted out', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    const stop = await keyed.inject({ method: 'POST', url: '/v1/inbound', headers: bearer('inbound'), payload: inboundText(contact, business, 'STOP') });
    expect(stop.statusCode).toBe(202);
    await waitFor(() => contactState(contact), (state) => state.optedOut, { what: `${contact} to opt out` });

    const start = await keyed.inject({ method: 'POST', url: '/v1/inbound', headers: bearer('send'), payload: inboundText(contact, business, 'START') });
    expect(start.statusCode).toBe(403);
    expect(start.json()).toEqual({ error: 'forbidden', message: 'this API key (crm) lacks the "inbound" scope that POST /v1/inbound needs' });
    expect(await signalsTo(contact)).toHaveLength(1);
    expect((await contactState(contact)).optedOut).toBe(true);
  });

  it("the same START through the gateway's inbound key lifts it", async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await keyed.inject({ method: 'POST', url: '/v1/inbound', headers: bearer('inbound'), payload: inboundText(contact, business, 'STOP') });
    await waitFor(() => contactState(contact), (state) => state.optedOut, { what: `${contact} to opt out` });
    const start = await keyed.inject({ method: 'POST', url: '/v1/inbound', headers: bearer('inbound'), payload: inboundText(contact, business, 'START') });
    expect(start.statusCode).toBe(202);
    await waitFor(() => contactState(contact), (state) => !state.optedOut, { what: `${contact} to resubscribe` });
    // The ledger says which channel and which key delivered the START (the key's name, never the key).
    const resubscribe = await waitFor(
      () => harness.pool.query<{ evidence: Record<string, unknown> }>("SELECT evidence FROM consent_ledger WHERE contact = $1 AND event = 'resubscribe'", [contact]),
      (result) => result.rowCount === 1,
      { what: 'the resubscribe ledger entry' },
    );
    expect(resubscribe.rows[0]!.evidence).toMatchObject({ channel: { kind: 'api', key: 'sms-gw' }, text: 'START' });
    expect(JSON.stringify(resubscribe.rows[0]!.evidence)).not.toContain(SECRETS.inbound);
  });
});

describe('every inbound text carries the channel it came by', () => {
  /** The channel the edge handed the actor with the contact's one text, read from the signal in its history. */
  const channelSignalled = async (contact: string) => {
    const history = await harness.client.workflow.getHandle(contactWorkflowId(contact)).fetchHistory();
    const signal = history.events?.find((event) => event.workflowExecutionSignaledEventAttributes)?.workflowExecutionSignaledEventAttributes;
    return (JSON.parse(Buffer.from(signal!.input!.payloads![0]!.data!).toString('utf8')) as { channel: unknown }).channel;
  };

  it('POST /v1/inbound: the name of the key that delivered it, never the key', async () => {
    const contact = uniquePhone();
    const response = await keyed.inject({ method: 'POST', url: '/v1/inbound', headers: bearer('inbound'), payload: inboundText(contact, uniquePhone(), 'HELLO') });
    expect(response.statusCode).toBe(202);
    expect(await channelSignalled(contact)).toEqual({ kind: 'api', key: 'sms-gw' });
  });

  it('POST /v1/inbound without keys (loopback): no key name', async () => {
    const contact = uniquePhone();
    expect((await open.inject({ method: 'POST', url: '/v1/inbound', payload: inboundText(contact, uniquePhone(), 'HELLO') })).statusCode).toBe(202);
    expect(await channelSignalled(contact)).toEqual({ kind: 'api', key: null });
  });

  it('the Twilio webhook', async () => {
    const contact = uniquePhone();
    const response = await postSignedTwilio(keyed, TWILIO_AUTH_TOKEN, twilioInboundForm(contact, uniquePhone(), 'HELLO'));
    expect(response.statusCode).toBe(200);
    expect(await channelSignalled(contact)).toEqual({ kind: 'twilio-webhook', key: null });
  });

  it('the Telnyx webhook', async () => {
    const contact = uniquePhone();
    const response = await postSignedTelnyx(keyed, telnyxSigningKey, telnyxReceived(contact, uniquePhone(), 'HELLO'));
    expect(response.statusCode).toBe(202);
    expect(await channelSignalled(contact)).toEqual({ kind: 'telnyx-webhook', key: null });
  });
});
