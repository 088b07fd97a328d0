/**
 * A Postgres restart under a running worker and API, while texts and sends flow, kills neither process, and the
 * work completes. The regression: a pg client checked out for a transaction had no 'error' listener, so the FATAL
 * 57P01 a restarting server sends to every session ended the worker (exit 1).
 *
 * The Postgres here is the test's own (test/support/owned-postgres.ts): it is restarted twice on the same data dir
 * and port, once with a fast shutdown (sessions ended with 57P01) and once with an immediate one (sessions killed
 * mid-transaction, crash recovery on start), each while requests are in flight and while some of the worker's ledger
 * appends wait inside their transaction (holdLedgerAppendsInsideTheirTransactions), so the regression's path is hit
 * every run, not by chance. Without the fix in activities/postgres/pool.ts the worker exits 1 at the first stop.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { ensureDatabase } from '../../dev/postgres';
import { WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
import { uniquePhone, waitFor } from '../support/harness';
import { startOwnedPostgres, type OwnedPostgres, type ShutdownMode } from '../support/owned-postgres';
import { freePort, startServiceProcess, type ServiceProcess } from '../support/service-process';

/** How long the database stays down each time: a few seconds, so retries back off and sends wait. */
const OUTAGE_MS = 4000;
/** Traffic before the first restart and after each recovery. */
const STEADY_TRAFFIC_MS = 3000;
/** Each lane waits this long between two requests, so two shared cores keep up with the actors' work. */
const LANE_PACE_MS = 100;
const STOP_LANES = 2;
/** A send takes seconds (a send workflow, a consent query, the outbox, the provider): more lanes keep several in flight. */
const SEND_LANES = 4;
/** The longest retry interval of the worker's activities: work that failed during the outage may wait this long after it. */
const RECOVERY_BACKOFF_MS = 60_000;
/** Whatever the outage, recovery (health, every actor settled) comes within this. */
const RECOVERY_TIMEOUT_MS = 60_000;
/** A request with no answer by then counts as lost (a send's own bound is SEND_DECISION_TIMEOUT_MS, 30 s). */
const REQUEST_TIMEOUT_MS = 90_000;
/** What a database failure's message looks like; none belongs in a 5xx body except /healthz's named checks. */
const DATABASE_TEXT = /postgres|\bpg\b|sql|ECONNREFUSED|ECONNRESET|terminating connection|connection terminated|database system|57P0\d|relation|client has encountered/i;

type Kind = 'stop' | 'text' | 'consent' | 'send' | 'read' | 'health';

interface Exchange {
  kind: Kind;
  method: 'GET' | 'POST';
  path: string;
  contact?: string;
  idempotencyKey?: string;
  startedAt: number;
  endedAt: number;
  /** undefined when no HTTP answer came (a dropped connection, a timeout) */
  status?: number;
  body: string;
  error?: string;
}

interface Outage {
  mode: ShutdownMode;
  stoppedAt: number;
  /** when the server accepted connections again */
  startedAt: number;
  /** API requests (and of them sends) that had not been answered when the stop was signalled */
  inFlightAtStop: number;
  sendsInFlightAtStop: number;
  /** the worker's ledger appends waiting inside their transaction (a checked-out pg client) when the stop came */
  appendsInTransactionAtStop: number;
  /** /healthz asked while the database was down */
  healthWhileDown?: Exchange;
}

const temporalAddress = inject('temporalAddress');
const taskQueue = `postgres-restart-${randomUUID()}`;
const apiKey = randomBytes(24).toString('hex');
const businessNumber = uniquePhone();

let postgres: OwnedPostgres | undefined;
let worker: ServiceProcess | undefined;
let api: ServiceProcess | undefined;
let apiUrl: string;
let databaseUrl: string;

beforeAll(async () => {
  postgres = await startOwnedPostgres();
  // The processes migrate it at start, as in production.
  databaseUrl = await ensureDatabase(postgres.serverUrl, 'postgres_restart_test');
  const env = {
    TEMPORAL_ADDRESS: temporalAddress,
    DATABASE_URL: databaseUrl,
    TEMPORAL_TASK_QUEUE: taskQueue,
    SMS_PROVIDER: 'sandbox',
    API_KEYS: apiKey,
  };
  worker = startServiceProcess('worker', env);
  await worker.waitForLine((line) => line.msg.startsWith('worker polling'), 'the worker to poll', 120_000);
  api = startServiceProcess('api', { ...env, PORT: String(await freePort()) });
  apiUrl = String((await api.waitForLine((line) => line.msg.startsWith('API listening'), 'the API to listen', 120_000)).url);
  await waitFor(() => fetch(`${apiUrl}/healthz`), (response) => response.status === 200, {
    timeoutMs: RECOVERY_TIMEOUT_MS,
    intervalMs: 250,
    what: '/healthz 200 before the traffic starts',
  });
}, 300_000);

afterAll(async () => {
  await Promise.all(
    [api, worker].map((running) => (running && running.child.exitCode === null && running.child.signalCode === null ? running.terminate(30_000).catch(() => undefined) : undefined)),
  );
  await postgres?.remove();
}, 120_000);

it('a Postgres restarted twice (fast, then immediate) under traffic ends neither process, and every STOP and send completes', async () => {
  const running = { worker: worker!, api: api! };
  const exits: string[] = [];
  const outages: Outage[] = [];
  // The first exit fails the test at once, with that process's last words, rather than as a later timeout.
  const anExit = new Promise<never>((_resolve, reject) => {
    for (const [name, service] of Object.entries(running)) {
      void service.exited.then(({ code, signal, at }) => {
        exits.push(`${name} exited (code ${code}, signal ${signal})`);
        const when = outages.map((outage) => `${outage.mode} stop at ${outage.stoppedAt}, start at ${outage.startedAt || 'not yet'}`).join('; ');
        reject(new Error(`the ${name} process exited (code ${code}, signal ${signal}) at ${at} (${when}); its output:\n${tail(service.output())}`));
      });
    }
  });
  anExit.catch(() => undefined);

  const exchanges: Exchange[] = [];
  const acceptedStops: string[] = [];
  const contacts = new Set<string>();
  let inFlight = 0;
  let sendsInFlight = 0;

  const freshContact = (): string => {
    for (;;) {
      const phone = uniquePhone();
      if (phone !== businessNumber && !contacts.has(phone)) {
        contacts.add(phone);
        return phone;
      }
    }
  };

  async function call(kind: Kind, method: 'GET' | 'POST', path: string, payload?: unknown, about: Partial<Exchange> = {}): Promise<Exchange> {
    const exchange: Exchange = { kind, method, path, ...about, startedAt: Date.now(), endedAt: 0, body: '' };
    inFlight += 1;
    if (kind === 'send') sendsInFlight += 1;
    try {
      const response = await fetch(`${apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
        body: payload ? JSON.stringify(payload) : undefined,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      exchange.status = response.status;
      exchange.body = await response.text();
    } catch (error) {
      exchange.error = `${(error as Error).message}${(error as Error).cause ? ` (${String((error as Error).cause)})` : ''}`;
    } finally {
      inFlight -= 1;
      if (kind === 'send') sendsInFlight -= 1;
      exchange.endedAt = Date.now();
    }
    exchanges.push(exchange);
    return exchange;
  }

  let flowing = true;
  const pace = () => new Promise((resolve) => setTimeout(resolve, LANE_PACE_MS));

  /** Inbound STOPs, each from a contact never seen before: a new actor, a list read, a ledger append, a reply. */
  async function stopLane(): Promise<void> {
    while (flowing) {
      const contact = freshContact();
      const answer = await call('stop', 'POST', '/v1/inbound', { messageId: `SM${randomUUID().replaceAll('-', '')}`, from: contact, to: businessNumber, body: 'STOP' }, { contact });
      if (answer.status === 202) acceptedStops.push(contact);
      await pace();
    }
  }

  /** Sends: a conversational reply to a contact who texted first, or a transactional one after a recorded consent. */
  async function sendLane(lane: number): Promise<void> {
    for (let round = 0; flowing; round += 1) {
      const contact = freshContact();
      const conversational = (round + lane) % 2 === 0;
      const first = conversational
        ? await call('text', 'POST', '/v1/inbound', { messageId: `SM${randomUUID().replaceAll('-', '')}`, from: contact, to: businessNumber, body: 'Is my cleaning still on Tuesday?' }, { contact })
        : await call('consent', 'POST', '/v1/consents', { phone: contact, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['transactional'], businessNumber }, { contact });
      if (first.status === 202) {
        const idempotencyKey = randomUUID();
        await call(
          'send',
          'POST',
          '/v1/messages',
          conversational
            ? { to: contact, from: businessNumber, body: 'Yes, Tuesday at 10am. See you then!', type: 'conversational', idempotencyKey }
            : { to: contact, from: businessNumber, body: 'Your cleaning is booked for Tuesday at 10am.', type: 'transactional', idempotencyKey, appendDisclosures: true },
          { contact, idempotencyKey },
        );
      }
      await pace();
    }
  }

  /** Reads the API answers from Postgres itself: what was sent to a contact who opted out. */
  async function readLane(): Promise<void> {
    while (flowing) {
      const contact = acceptedStops.at(-1);
      if (contact) await call('read', 'GET', `/v1/contacts/${encodeURIComponent(contact)}/messages`, undefined, { contact });
      await pace();
    }
  }

  const healthy = (what: string) =>
    waitFor(() => call('health', 'GET', '/healthz'), (answer) => answer.status === 200, { timeoutMs: RECOVERY_TIMEOUT_MS, intervalMs: 250, what });
  const trafficFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function restartUnderTraffic(mode: ShutdownMode): Promise<void> {
    await waitFor(async () => sendsInFlight, (count) => count > 0, { timeoutMs: 30_000, intervalMs: 5, what: 'a send in flight' });
    const ledgerLock = await holdLedgerAppendsInsideTheirTransactions();
    const outage: Outage = { mode, stoppedAt: Date.now(), startedAt: 0, inFlightAtStop: inFlight, sendsInFlightAtStop: sendsInFlight, appendsInTransactionAtStop: ledgerLock.waiting };
    outages.push(outage);
    await postgres!.stop(mode);
    await ledgerLock.session.end().catch(() => undefined);
    // The API knows the database is gone: its health says so (503) while the processes stay up.
    outage.healthWhileDown = await call('health', 'GET', '/healthz');
    await trafficFor(Math.max(0, outage.stoppedAt + OUTAGE_MS - Date.now()));
    await postgres!.start();
    outage.startedAt = Date.now();
    await healthy(`/healthz 200 after the ${mode} restart`);
  }

  const lanes = [
    ...Array.from({ length: STOP_LANES }, () => stopLane()),
    ...Array.from({ length: SEND_LANES }, (_, lane) => sendLane(lane)),
    readLane(),
  ];
  const began = Date.now();
  const scenario = async () => {
    await trafficFor(STEADY_TRAFFIC_MS);
    await restartUnderTraffic('fast');
    await trafficFor(STEADY_TRAFFIC_MS);
    await restartUnderTraffic('immediate');
    await trafficFor(STEADY_TRAFFIC_MS);
  };
  try {
    await Promise.race([scenario(), anExit]);
  } finally {
    flowing = false;
    await Promise.all(lanes);
  }
  const trafficMs = Date.now() - began;

  // Each outage happened with work on the wire, and the API reported it rather than hiding it.
  for (const outage of outages) {
    expect.soft(outage.sendsInFlightAtStop, `sends in flight at the ${outage.mode} stop`).toBeGreaterThan(0);
    expect.soft(outage.appendsInTransactionAtStop, `ledger appends inside their transaction at the ${outage.mode} stop`).toBeGreaterThan(0);
    expect.soft(outage.healthWhileDown?.status, `/healthz while down after the ${outage.mode} stop: ${outage.healthWhileDown?.body}`).toBe(503);
  }

  // A 503 is an honest answer only while the database was away (or a send was still waiting it out).
  // Down, or still recovering: retries that backed off during the outage wait up to their 1-minute maximum interval,
  // and a send whose decision they delay past SEND_DECISION_TIMEOUT_MS is refused STATE_UNAVAILABLE (fail closed).
  const overlapsOutage = (exchange: Exchange) =>
    outages.some((outage) => exchange.startedAt <= outage.startedAt + RECOVERY_BACKOFF_MS && exchange.endedAt >= outage.stoppedAt);
  const describeExchange = (exchange: Exchange) =>
    `${exchange.method} ${exchange.path} ${exchange.contact ?? ''} → ${exchange.status ?? `no answer: ${exchange.error}`} ${exchange.body.slice(0, 300)} ` +
    `(+${exchange.startedAt - began} ms, took ${exchange.endedAt - exchange.startedAt} ms)`;
  const unexpected = (kind: Kind, allowed: (exchange: Exchange) => boolean) =>
    exchanges.filter((exchange) => exchange.kind === kind && !allowed(exchange)).map(describeExchange);

  // Every request got an HTTP answer: none dropped, none timed out.
  expect.soft(exchanges.filter((exchange) => exchange.status === undefined).map(describeExchange), 'requests with no HTTP answer').toEqual([]);
  // Inbound texts and consents are signals to Temporal, which stayed up: accepted whatever the database does.
  expect.soft(unexpected('stop', (exchange) => exchange.status === 202), 'STOPs not accepted').toEqual([]);
  expect.soft(unexpected('text', (exchange) => exchange.status === 202), 'inbound texts not accepted').toEqual([]);
  expect.soft(unexpected('consent', (exchange) => exchange.status === 202), 'consents not accepted').toEqual([]);
  expect.soft(
    unexpected('send', (exchange) => exchange.status === 201 || exchange.status === 422 || (exchange.status === 503 && overlapsOutage(exchange))),
    'sends answered other than 201, 422, or 503 during an outage',
  ).toEqual([]);
  expect.soft(
    unexpected('read', (exchange) => exchange.status === 200 || (exchange.status === 503 && overlapsOutage(exchange))),
    'reads answered other than 200, or 503 during an outage',
  ).toEqual([]);
  expect.soft(
    exchanges.filter((exchange) => exchange.kind !== 'health' && (exchange.status ?? 0) >= 500 && DATABASE_TEXT.test(exchange.body)).map(describeExchange),
    '5xx answers carrying database text',
  ).toEqual([]);

  // Neither process exited, during the restarts or since.
  expect(exits, `a service process exited; worker output:\n${tail(running.worker.output())}\nAPI output:\n${tail(running.api.output())}`).toEqual([]);
  await healthy('/healthz 200 once the traffic has stopped');

  // Every STOP accepted ends opted out, with nothing left pending in its actor; every contact's actor settles.
  const settledStates = await waitFor(
    () => mapWithConcurrency([...contacts].filter((contact) => exchanges.some((exchange) => exchange.contact === contact && exchange.status !== undefined && exchange.status < 300)), 8, contactState),
    (states) => states.every((state) => state.pendingReplies.length === 0 && state.pendingLedger.length === 0 && (!acceptedStops.includes(state.phone) || state.optedOut)),
    { timeoutMs: RECOVERY_TIMEOUT_MS, intervalMs: 500, what: 'every actor settled and every STOP opted out' },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\nworker output:\n${tail(running.worker.output())}`);
  });
  expect(settledStates.filter((state) => acceptedStops.includes(state.phone) && !state.optedOut).map((state) => state.phone)).toEqual([]);

  // …on the opt-out list, and confirmed exactly once, the confirmation sent.
  const confirmations = await waitFor(() => confirmationsOf(acceptedStops), (rows) => rows.every(confirmedOnce), {
    timeoutMs: RECOVERY_TIMEOUT_MS,
    intervalMs: 500,
    what: 'one sent confirmation and an opt-out list row per STOP',
  }).catch(() => confirmationsOf(acceptedStops));
  expect(confirmations).toHaveLength(acceptedStops.length);
  expect(confirmations.filter((row) => !confirmedOnce(row)), 'STOPs not listed or not confirmed exactly once').toEqual([]);

  // Every send answered 201 went out, once, as the outbox says; none answered 503 went out late.
  const sends = exchanges.filter((exchange) => exchange.kind === 'send');
  const outbox = await query<{ idempotency_key: string; status: string; provider_message_id: string | null }>(
    'SELECT idempotency_key, status, provider_message_id FROM outbound_messages WHERE idempotency_key = ANY($1::text[])',
    [sends.map((send) => send.idempotencyKey)],
  );
  const byKey = new Map(outbox.map((row) => [row.idempotency_key, row]));
  const sentNotRecorded = sends
    .filter((send) => send.status === 201)
    .filter((send) => {
      const row = byKey.get(send.idempotencyKey!);
      return row?.status !== 'sent' || row.provider_message_id !== (JSON.parse(send.body) as { providerMessageId: string }).providerMessageId;
    })
    .map(describeExchange);
  expect(sentNotRecorded, 'sends answered 201 that the outbox does not hold as sent').toEqual([]);
  const refusedButSent = sends.filter((send) => send.status === 503 && byKey.get(send.idempotencyKey!)?.status === 'sent').map(describeExchange);
  expect(refusedButSent, 'sends answered 503 that went out anyway').toEqual([]);

  // Both processes are still up at the end.
  expect(running.worker.child.exitCode).toBeNull();
  expect(running.api.child.exitCode).toBeNull();

  const count = (kind: Kind, status?: number) => exchanges.filter((exchange) => exchange.kind === kind && (status === undefined || exchange.status === status)).length;
  console.info(
    `postgres-restart: ${trafficMs} ms of traffic, ${exchanges.length} requests; ` +
      outages.map((outage) => `${outage.mode} restart with ${outage.inFlightAtStop} requests (${outage.sendsInFlightAtStop} sends) in flight and ${outage.appendsInTransactionAtStop} ledger appends inside their transaction, down ${outage.startedAt - outage.stoppedAt} ms`).join('; ') +
      `; STOPs ${acceptedStops.length} accepted; sends ${count('send')} (201: ${count('send', 201)}, 422: ${count('send', 422)}, 503: ${count('send', 503)}); ` +
      `reads ${count('read')} (200: ${count('read', 200)}, 503: ${count('read', 503)}, 500: ${count('read', 500)}); ` +
      `worker log lines about dropped connections: ${running.worker.output().split('\n').filter((line) => /terminating connection|Connection terminated/i.test(line)).length}`,
  );
}, 300_000);

/**
 * The regression needs a pg client checked out when the server goes: a ledger append holds one for its transaction,
 * for milliseconds. A lock on the ledger (inserts wait, reads do not) keeps the worker's appends inside their
 * transaction until the stop, so every restart hits some; the stop ends the locking session too.
 */
async function holdLedgerAppendsInsideTheirTransactions(): Promise<{ session: Client; waiting: number }> {
  const session = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  session.on('error', () => undefined); // the restart ends this session with 57P01
  await session.connect();
  await session.query('BEGIN');
  await session.query('LOCK TABLE consent_ledger IN SHARE ROW EXCLUSIVE MODE');
  const [blocked] = await waitFor(
    () =>
      query<{ waiting: string }>(
        `SELECT count(*) AS waiting FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO consent_ledger%'`,
        [],
      ),
    (rows) => Number(rows[0]?.waiting) > 0,
    { timeoutMs: 30_000, intervalMs: 20, what: 'a ledger append waiting inside its transaction' },
  );
  return { session, waiting: Number(blocked?.waiting) };
}

interface Confirmations {
  contact: string;
  /** opt_out_confirmation rows with status sent, and with any other status */
  sent: string;
  other: string;
  /** a row on the opt-out list */
  listed: boolean;
}

const confirmedOnce = (row: Confirmations) => Number(row.sent) === 1 && Number(row.other) === 0 && row.listed;

function confirmationsOf(contacts: string[]): Promise<Confirmations[]> {
  return query<Confirmations & Record<string, unknown>>(
    `SELECT c.contact,
            count(m.id) FILTER (WHERE m.status = 'sent') AS sent,
            count(m.id) FILTER (WHERE m.status <> 'sent') AS other,
            EXISTS (SELECT 1 FROM opt_outs o WHERE o.phone = c.contact) AS listed
       FROM unnest($1::text[]) AS c(contact)
       LEFT JOIN outbound_messages m ON m.contact = c.contact AND m.kind = 'opt_out_confirmation'
      GROUP BY c.contact`,
    [contacts],
  );
}

interface ContactStateView {
  phone: string;
  optedOut: boolean;
  pendingReplies: unknown[];
  pendingLedger: unknown[];
}

async function contactState(contact: string): Promise<ContactStateView> {
  const response = await fetch(`${apiUrl}/v1/contacts/${encodeURIComponent(contact)}`, { headers: { authorization: `Bearer ${apiKey}` } });
  if (response.status !== 200) throw new Error(`GET /v1/contacts/${contact}: ${response.status} ${await response.text()}`);
  return (await response.json()) as ContactStateView;
}

async function mapWithConcurrency<T, R>(items: T[], concurrency: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await map(items[index]!);
      }
    }),
  );
  return results;
}

/** One short-lived connection per query, with its own error listener: the test's reads never hold a pooled client across a restart. */
async function query<Row extends Record<string, unknown>>(sql: string, values: unknown[]): Promise<Row[]> {
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<Row>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

function tail(output: string, lines = 80): string {
  return output.split('\n').slice(-lines).join('\n');
}
