/**
 * Requests that once crashed the API (an unhandled stream error) or got a 500 carrying the database's text: each
 * now gets a 4xx that names the field, or a generic 5xx with a request id, and the process goes on serving.
 */
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentClient } from '../../client/consent-client';
import { buildApiServer } from '../../client/http/server';
import { buildTestApi, inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

let harness: Harness;
let api: FastifyInstance;
beforeAll(async () => {
  harness = await startHarness();
  api = await buildTestApi(harness);
});
afterAll(async () => {
  await api?.close();
  await harness?.stop();
});

/** The API still answers a plain request: nothing above took the process (here: the test's own) down. */
async function expectStillServing() {
  const response = await api.inject({ method: 'GET', url: '/v1/opt-outs?limit=1' });
  expect(response.statusCode).toBe(200);
}

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('date filters that parse as ISO but Postgres refuses', () => {
  it.each([
    ['from', '0000-01-01', 'between 1990-01-01 and 2100-01-01'],
    ['from', '0000-01-01T00:00:00Z', 'between 1990-01-01 and 2100-01-01'],
    ['to', '2026-01-01T00:00:00+16:00', 'beyond ±14:00'],
    ['to', '2026-02-30', 'has day 30'],
    ['from', '2026-13-01T00:00:00Z', 'month 13'],
  ])('%s=%s gets 400 naming the field, as JSON and as CSV', async (field, value, message) => {
    for (const format of ['json', 'csv']) {
      const response = await api.inject({ method: 'GET', url: `/v1/opt-outs?format=${format}&${field}=${encodeURIComponent(value)}` });
      expect(response.statusCode).toBe(400);
      expect(response.json().issues).toEqual([expect.objectContaining({ field, message: expect.stringContaining(message) })]);
    }
    await expectStillServing();
  });
});

describe('crafted opt-out list cursors', () => {
  it.each([
    ['not base64 JSON', 'not-a-cursor!!'],
    ['a day that does not exist', cursorOf(['2026-02-31 00:00:00+00', '+14155550100'])],
    ['SQL in the timestamp', cursorOf(["2026-01-01'; DROP TABLE opt_outs; --", '+14155550100'])],
    ['year 0000', cursorOf(['0000-01-01 00:00:00+00', '+14155550100'])],
    ['a phone that is not E.164', cursorOf(['2026-01-01 00:00:00+00', 'x'])],
    ['the wrong shape', cursorOf({ at: 1 })],
  ])('%s gets 400 on `cursor`', async (_case, cursor) => {
    const response = await api.inject({ method: 'GET', url: `/v1/opt-outs?cursor=${encodeURIComponent(cursor)}` });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual([{ field: 'cursor', message: 'cursor is not one this list returned' }]);
  });
});

describe('broken multipart uploads', () => {
  const boundary = '----hostile-boundary';
  it.each([
    ['cut short before its closing boundary', `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.csv"\r\nContent-Type: text/csv\r\n\r\n+14155550123\r\n`, `multipart/form-data; boundary=${boundary}`],
    ['with a malformed part header', `--${boundary}\r\nContent-Disposition form-data name=file\r\n\r\n+14155550123\r\n--${boundary}--\r\n`, `multipart/form-data; boundary=${boundary}`],
    ['with no boundary in its content type', `--${boundary}\r\n\r\nx\r\n--${boundary}--\r\n`, 'multipart/form-data'],
  ])('an upload %s gets a 4xx, and no import starts', async (_case, payload, contentType) => {
    const importId = `hostile-${Math.random().toString(36).slice(2)}`;
    const response = await api.inject({
      method: 'POST',
      url: `/v1/opt-outs/import?recordedBy=ops&importId=${importId}`,
      headers: { 'content-type': contentType },
      payload,
    });
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect((await harness.pool.query('SELECT 1 FROM suppression_imports WHERE id = $1', [importId])).rowCount).toBe(0);
    await expectStillServing();
  });

  it('a CSV body with a NUL byte (binary, UTF-16) is refused whole with 400 on `file`, the line named, and no import starts', async () => {
    const importId = `nul-${Math.random().toString(36).slice(2)}`;
    const response = await api.inject({
      method: 'POST',
      url: `/v1/opt-outs/import?recordedBy=ops&importId=${importId}`,
      headers: { 'content-type': 'text/csv' },
      payload: `${uniquePhone()}\n+1415\u00005550123\n`,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual([{ field: 'file', message: expect.stringContaining('has a NUL byte (line 2)') }]);
    expect((await harness.pool.query('SELECT 1 FROM suppression_imports WHERE id = $1', [importId])).rowCount).toBe(0);
  });
});

/** A pool whose queries on the opt-out list fail the way a dying or wrong database would. */
function failingListPool(pool: Pool, fail: (text: string, call: number) => Error | undefined): Pool {
  let calls = 0;
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return (text: unknown, ...rest: unknown[]) => {
        if (typeof text === 'string' && text.includes('FROM opt_outs')) {
          calls += 1;
          const error = fail(text, calls);
          if (error) return Promise.reject(error);
        }
        return (target.query as (...args: unknown[]) => unknown).call(target, text, ...rest);
      };
    },
  });
}

async function apiWithPool(pool: Pool) {
  const consent = new ConsentClient({ client: harness.client, taskQueue: harness.taskQueue, pool });
  const server = buildApiServer({ consent, client: harness.client, pool, namespace: harness.namespace, taskQueue: harness.taskQueue });
  await server.ready();
  return server;
}

const pgError = (message: string, code: string) => Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('errors that are not the client’s fault', () => {
  it('a database error is a 500 with a request id and none of the database’s text', async () => {
    const server = await apiWithPool(failingListPool(harness.pool, () => pgError('relation "secret_internal_table" does not exist', '42P01')));
    try {
      for (const url of ['/v1/opt-outs', '/v1/opt-outs?format=csv']) {
        const response = await server.inject({ method: 'GET', url });
        expect(response.statusCode).toBe(500);
        expect(response.body).not.toContain('secret_internal_table');
        expect(response.json()).toEqual({ error: 'internal_error', message: 'internal error', requestId: expect.any(String) });
        expect(response.headers['x-request-id']).toBe(response.json().requestId);
      }
    } finally {
      await server.close();
    }
  });

  it('a database that refuses connections is a 503 with Retry-After, not a 500', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const server = await apiWithPool(failingListPool(harness.pool, () => refused));
    try {
      const response = await server.inject({ method: 'GET', url: '/v1/opt-outs' });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('5');
      expect(response.json()).toMatchObject({ error: 'service_unavailable', requestId: expect.any(String) });
      expect(response.body).not.toContain('ECONNREFUSED');
    } finally {
      await server.close();
    }
  });

  it('a CSV export whose database fails midway ends that response, and the process serves the next request', async () => {
    // Two pages of our own (5,000 rows a page), dated where no other test writes.
    await harness.pool.query(
      `INSERT INTO opt_outs (phone, opted_out_at, source, ledger_key)
       SELECT '+1999' || lpad(n::text, 7, '0'), timestamptz '1995-01-01' + n * interval '1 second', 'operator-recorded', 'hostile-' || n
       FROM generate_series(1, 5001) AS n ON CONFLICT DO NOTHING`,
    );
    const server = await apiWithPool(failingListPool(harness.pool, (_text, call) => (call === 2 ? pgError('connection lost midway', '08006') : undefined)));
    try {
      const answer = await server
        .inject({ method: 'GET', url: '/v1/opt-outs?format=csv&from=1995-01-01&to=1995-01-02' })
        .then((response) => ({ status: response.statusCode, lines: response.body.split('\n').filter(Boolean).length }))
        .catch((error: unknown) => ({ status: 'aborted', error: String(error) }));
      // Either the connection was cut, or the body stops short of the 5,001 rows and the header.
      if ('lines' in answer) {
        expect(answer.status).toBe(200);
        expect(answer.lines).toBeLessThan(5002);
      } else {
        expect(answer.status).toBe('aborted');
      }
      const next = await server.inject({ method: 'GET', url: '/v1/opt-outs?limit=1&from=1995-01-01&to=1995-01-02' });
      expect(next.statusCode).toBe(200);
      expect(next.json().optOuts).toHaveLength(1);
    } finally {
      await server.close();
    }
    await expectStillServing();
  });
});

describe('odd text that the edge accepts and the stores hold', () => {
  it('a consent whose evidence carries NUL and lone surrogates is recorded and in the ledger', async () => {
    const contact = uniquePhone();
    const response = await api.inject({
      method: 'POST',
      url: '/v1/consents',
      payload: { phone: contact, type: 'express', messageTypes: ['transactional'], source: { kind: 'verbal', takenBy: 'agent\u0000 7', callId: 'CA\uDFFF1' } },
    });
    expect(response.statusCode).toBe(202);
    const entry = await waitFor(
      () => harness.consent.getContactHistory(contact),
      (page) => page.entries.some((e) => e.event === 'consent_recorded'),
      { what: 'the consent in the ledger' },
    );
    expect(entry.entries.find((e) => e.event === 'consent_recorded')!.evidence).toMatchObject({ evidence: { takenBy: 'agent\uFFFD 7', callId: 'CA\uFFFD1' } });
  });

  it('a message body with a NUL character is refused with 400 on `body`, saying why', async () => {
    const response = await api.inject({
      method: 'POST',
      url: '/v1/messages',
      payload: { to: uniquePhone(), from: uniquePhone(), type: 'transactional', body: 'Your order\u0000 shipped' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual([{ field: 'body', message: 'contains a NUL character (U+0000) at position 10, which cannot be stored or sent' }]);
  });

  it('an idempotency key with a control character is refused with 400 on `idempotencyKey`', async () => {
    const response = await api.inject({
      method: 'POST',
      url: '/v1/messages',
      payload: { to: uniquePhone(), from: uniquePhone(), type: 'transactional', body: 'hi', idempotencyKey: 'order\n1' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual([expect.objectContaining({ field: 'idempotencyKey', message: 'must not contain control characters' })]);
  });

  it('a STOP from a Twilio-shaped payload with %00 in its body still reaches its actor (through the shared schema)', async () => {
    const [contact, business] = [uniquePhone(), uniquePhone()];
    const accepted = await harness.consent.handleInbound({ ...inboundText(contact, business, 'STOP\u0000\u0000') });
    expect(accepted.message.body).toBe('STOP\uFFFD\uFFFD');
    expect(accepted.classification.intent).toBe('opt_out');
  });
});
