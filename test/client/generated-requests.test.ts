/**
 * Thousands of generated requests (test/support/request-generators.ts) against the real `npm run api` and
 * `npm run worker` processes. The rules: no 5xx; both processes alive and healthy at the end; nothing started or
 * written for a request refused with a 4xx; every accepted text fully processed (an accepted STOP opted out, listed
 * and confirmed once), with nothing left pending in any actor. FUZZ_REQUESTS sets the count (`npm run fuzz`: 50,000),
 * FUZZ_SEED replays a run.
 */
import { generateKeyPairSync, randomInt, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { WorkflowNotFoundError } from '@temporalio/client';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ContactState } from '../../workflows/domain/contact-state';
import { contactStateQuery } from '../../workflows/messages';
import { startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { requestArbitrary, type GeneratedRequest } from '../support/request-generators';
import { freePort, startServiceProcess, type ServiceProcess } from '../support/service-process';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5000);
const SEED = Number(process.env.FUZZ_SEED ?? randomInt(2 ** 31));
const CONCURRENCY = 12;
const API_KEY = `fuzz-key-${randomUUID()}`;
const TWILIO_AUTH_TOKEN = 'fuzz-twilio-auth-token';
/** 4xx that refuse the input itself: nothing may be started or written for them (422 is a decision, not a refusal). */
const REFUSALS = new Set([400, 401, 403, 404, 405, 406, 413, 415]);

let harness: Harness;
let worker: ServiceProcess;
let api: ServiceProcess;
let baseUrl: string;
const telnyx = generateKeyPairSync('ed25519');

beforeAll(async () => {
  harness = await startHarness({ worker: false });
  const common = {
    TEMPORAL_ADDRESS: harness.temporalAddress,
    DATABASE_URL: harness.databaseUrl,
    TEMPORAL_TASK_QUEUE: harness.taskQueue,
    SMS_PROVIDER: 'sandbox',
    LOG_LEVEL: 'warn',
  };
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  worker = startServiceProcess('worker', common);
  api = startServiceProcess('api', {
    ...common,
    PORT: String(port),
    API_KEYS: API_KEY,
    PUBLIC_BASE_URL: baseUrl,
    WEBHOOK_PROVIDERS: 'twilio,telnyx',
    TWILIO_AUTH_TOKEN,
    TELNYX_PUBLIC_KEY: telnyx.publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('base64'),
  });
  await waitFor(() => fetch(`${baseUrl}/healthz`).then((response) => response.status), (status) => status === 200, { what: 'the API and the worker healthy', timeoutMs: 90_000, intervalMs: 250 });
}, 120_000);

afterAll(async () => {
  for (const process of [api, worker]) if (process && process.child.exitCode === null) await process.terminate(15_000).catch(() => process.child.kill('SIGKILL'));
  await harness?.stop();
});

/** The resident memory of the process tree's largest process (the node process behind npm and tsx), in MiB. */
function rssMiB(root: number): number {
  const pids = [root];
  for (let i = 0; i < pids.length; i += 1) {
    for (const task of safe(() => readdirSync(`/proc/${pids[i]}/task`), [] as string[])) {
      const children = safe(() => readFileSync(`/proc/${pids[i]}/task/${task}/children`, 'utf8'), '');
      pids.push(...children.split(/\s+/).filter(Boolean).map(Number));
    }
  }
  const sizes = pids.map((pid) => Number(/VmRSS:\s+(\d+)/.exec(safe(() => readFileSync(`/proc/${pid}/status`, 'utf8'), ''))?.[1] ?? 0));
  return Math.round(Math.max(...sizes) / 1024);
}
function safe<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

interface Exchange {
  request: GeneratedRequest;
  status: number;
  body: string;
  ms: number;
}

/** Reads that failed closed (503: a contact's state not read in time) are asked again as a client would, twice. */
const READ_RETRIES = 2;

async function send(request: GeneratedRequest): Promise<Exchange> {
  const started = performance.now();
  for (let attempt = 0; ; attempt += 1) {
    const response = await fetch(`${baseUrl}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
    const body = await response.text();
    if (response.status === 503 && request.method === 'GET' && attempt < READ_RETRIES) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    return { request, status: response.status, body, ms: performance.now() - started };
  }
}

function statusClasses(exchanges: Exchange[]): Record<string, number> {
  const byClass: Record<string, number> = {};
  for (const { status } of exchanges) byClass[`${String(status)[0]}xx`] = (byClass[`${String(status)[0]}xx`] ?? 0) + 1;
  return byClass;
}

/** Asserts an empty list, naming what it lists and its first items in the message (the CI summary prints its first line). */
function expectNone(what: string, items: string[]): void {
  expect(items, `${what} (${items.length}): ${items.slice(0, 5).join(' ;; ').slice(0, 1200)}`).toEqual([]);
}

const describeRequest = ({ method, path, headers, body }: GeneratedRequest) =>
  `${method} ${path} ${JSON.stringify(headers)} ${JSON.stringify(typeof body === 'string' ? body.slice(0, 500) : body)}`;

it(`${REQUESTS} generated requests: no 5xx, every process alive, nothing written for a refusal, every acceptance processed`, async () => {
  console.info(`[generated requests] seed ${SEED} (FUZZ_SEED=${SEED} replays this run), ${REQUESTS} requests`);
  const businessNumbers = [uniquePhone(), uniquePhone(), uniquePhone()];
  const requests = fc.sample(
    requestArbitrary({ apiKey: API_KEY, baseUrl, twilioAuthToken: TWILIO_AUTH_TOKEN, telnyxKey: telnyx.privateKey, businessNumbers, freshContact: uniquePhone }),
    { seed: SEED, numRuns: REQUESTS },
  );
  const memoryAtStart = { api: rssMiB(api.child.pid!), worker: rssMiB(worker.child.pid!) };

  const exchanges: Exchange[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests.length) {
        const request = requests[next++]!;
        try {
          exchanges.push(await send(request));
          if (exchanges.length % 5000 === 0) console.info(`[generated requests] ${exchanges.length} answered: ${JSON.stringify(statusClasses(exchanges))}`);
        } catch (error) {
          // A dropped connection is as bad as a 5xx: the process may have died.
          exchanges.push({ request, status: 599, body: String(error), ms: 0 });
        }
      }
    }),
  );

  const byClass = statusClasses(exchanges);
  const slowest = exchanges.reduce((a, b) => (b.ms > a.ms ? b : a));
  console.info(`[generated requests] by status class ${JSON.stringify(byClass)}; slowest ${slowest.request.route} ${Math.round(slowest.ms)} ms (${slowest.status})`);

  // 1. No 5xx, and no dropped connection.
  expectNone('5xx answers or dropped connections', exchanges.filter((e) => e.status >= 500).map((e) => `${e.status} ${e.body.slice(0, 300)} ← ${describeRequest(e.request)}`));

  // 2. Both processes alive and healthy.
  expect(api.child.exitCode).toBeNull();
  expect(worker.child.exitCode).toBeNull();
  expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);

  // 3. Nothing started or written for a contact named only by refused requests.
  const accepted = new Set(exchanges.filter((e) => !REFUSALS.has(e.status)).flatMap((e) => e.request.contacts));
  const refusedOnly = [...new Set(exchanges.filter((e) => REFUSALS.has(e.status)).flatMap((e) => e.request.contacts))].filter((c) => !accepted.has(c));
  const written = await harness.pool.query<{ contact: string; where: string }>(
    `SELECT contact, 'consent_ledger' AS where FROM consent_ledger WHERE contact = ANY($1)
     UNION ALL SELECT phone, 'opt_outs' FROM opt_outs WHERE phone = ANY($1)
     UNION ALL SELECT contact, 'outbound_messages' FROM outbound_messages WHERE contact = ANY($1)`,
    [refusedOnly],
  );
  expectNone(
    'rows written for contacts named only by refused requests',
    written.rows.map((row) => `${row.where} ${row.contact} ← ${exchanges.filter((e) => e.request.contacts.includes(row.contact)).map((e) => `${e.status} ${e.body.slice(0, 200)} ← ${describeRequest(e.request)}`).join(' | ')}`),
  );
  const started: string[] = [];
  for (const contact of refusedOnly) {
    try {
      await harness.client.workflow.getHandle(`contact:${contact}`).describe();
      started.push(contact);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  expectNone('contacts with an actor although every request naming them was refused', started);

  // 4. Every accepted text processed: each accepted STOP opted out, listed, confirmed once; nothing pending anywhere.
  const stops = [...new Set(exchanges.filter((e) => e.request.stop && e.status >= 200 && e.status < 300).flatMap((e) => e.request.contacts))];
  const actors = [...accepted].filter((contact) => !stops.includes(contact));
  const states = new Map<string, ContactState | undefined>();
  const readState = async (contact: string) => {
    try {
      return await harness.client.workflow.getHandle(`contact:${contact}`).query(contactStateQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  };
  const pending = (state: ContactState | undefined) => (state ? state.pendingLedger.length + state.pendingReplies.length : 0);
  await waitFor(
    async () => {
      for (const contact of [...stops, ...actors]) if (pending(states.get(contact)) > 0 || !states.has(contact) || (stops.includes(contact) && !states.get(contact)?.optedOut)) states.set(contact, await readState(contact));
      return [...stops, ...actors].filter((contact) => pending(states.get(contact)) > 0 || (stops.includes(contact) && !states.get(contact)?.optedOut));
    },
    (unsettled) => unsettled.length === 0,
    { what: 'every accepted contact settled', timeoutMs: 240_000, intervalMs: 500 },
  );
  const listed = await harness.pool.query<{ phone: string }>('SELECT phone FROM opt_outs WHERE phone = ANY($1)', [stops]);
  expectNone('accepted STOPs missing from the opt-out list', stops.filter((c) => !listed.rows.some((row) => row.phone === c)));
  const confirmations = await harness.pool.query<{ contact: string; n: number }>(
    `SELECT contact, count(*)::int AS n FROM outbound_messages WHERE kind = 'opt_out_confirmation' AND status = 'sent' AND contact = ANY($1) GROUP BY contact`,
    [stops],
  );
  const confirmed = new Map(confirmations.rows.map((row) => [row.contact, row.n]));
  expectNone('accepted STOPs without exactly one confirmation', stops.filter((c) => confirmed.get(c) !== 1).map((c) => `${c}: ${confirmed.get(c) ?? 0} sent`));
  expect(stops.length, 'the generator accepted STOPs to check').toBeGreaterThan(REQUESTS / 50);

  const memoryAtEnd = { api: rssMiB(api.child.pid!), worker: rssMiB(worker.child.pid!) };
  console.info(
    `[generated requests] ${stops.length} accepted STOPs settled, ${actors.length} other accepted contacts with nothing pending (0 pending at the end); ` +
      `RSS MiB api ${memoryAtStart.api} → ${memoryAtEnd.api}, worker ${memoryAtStart.worker} → ${memoryAtEnd.worker}`,
  );
}, Math.max(900_000, REQUESTS * 60));
