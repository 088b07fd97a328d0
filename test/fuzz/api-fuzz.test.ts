/**
 * Generated traffic against the real `npm run api` and `npm run worker` (the suite's Temporal and Postgres, a task
 * queue of their own): every route and webhook, valid and broken, at least FUZZ_REQUESTS (5,000) requests.
 * The rules: no answer is a 5xx; both processes survive and /healthz answers 200; a refused request (4xx) and a read
 * leave no workflow and no row; an accepted one is processed to the end (a STOP opts out, is confirmed once, and
 * the actor has nothing pending). FUZZ_SEED replays a run. A long run:
 *   FUZZ_REQUESTS=50000 FUZZ_TIMEOUT_MS=7200000 npx vitest run test/fuzz/api-fuzz.test.ts
 * Other knobs: FUZZ_CONCURRENCY (12), FUZZ_SETTLE_MS (60 s), FUZZ_SEND_BUDGET_MS (the timeout less 130 s).
 */
import { createHash, createPrivateKey, createPublicKey, randomInt, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import fc from 'fast-check';
import type { Pool } from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createPool } from '../../activities/postgres/pool';
import { classifyInbound } from '../../workflows/domain/keywords';
import { freePort, startServiceProcess, type LogLine, type ServiceProcess } from '../support/service-process';
import {
  expectationsFor,
  isDecidedRefusal,
  isRead,
  isRejected,
  listWorkflows,
  pendingOf,
  readStates,
  tracesOfTracelessRequests,
  unmetExpectations,
  type Expectation,
  type Outcome,
} from './checks';
import { PhoneAllocator } from './placeholders';
import { materialise, ScenarioContext, telnyxHeaders, type ConcreteRequest, type FuzzSecrets, type Scenario } from './requests';
import { scenarioArb } from './routes';
import { commandLine, isAlive, rssMiB, runBounded, sendRequest, serviceNodePid, type Answer } from './transport';
import { CHECKED_STOP_BODIES } from './values';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5000);
const SEED = process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== '' ? Number(process.env.FUZZ_SEED) : randomInt(2 ** 31);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 12);
const TEST_TIMEOUT_MS = Number(process.env.FUZZ_TIMEOUT_MS ?? 360_000);
/** Sending stops here, so the checks and the summary still run before the test's timeout. */
const SEND_BUDGET_MS = Number(process.env.FUZZ_SEND_BUDGET_MS ?? TEST_TIMEOUT_MS - 130_000);
/** The checks after sending stop here, leaving time to print the report. */
const CHECKS_END_MS = TEST_TIMEOUT_MS - 15_000;
/** How long accepted requests get to be processed to the end after the last answer. */
const SETTLE_MS = Number(process.env.FUZZ_SETTLE_MS ?? 60_000);
const REQUEST_TIMEOUT_MS = 60_000;
/** A crashed API or worker is started again this many times in a run (each crash is a failure). */
const MAX_RESTARTS = 10;
const PUBLIC_BASE_URL = 'https://sms.fuzz.example';

const log = (line: string) => console.log(`[fuzz] ${line}`);

/** Everything secret is derived from the seed, so a replay sends the same bytes (Telnyx timestamps aside). */
function secretsFor(seed: number): { secrets: FuzzSecrets; telnyxPublicKey: string } {
  const digest = (label: string) => createHash('sha256').update(`${label}:${seed}`).digest();
  const ed25519 = (bytes: Buffer): KeyObject =>
    createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), bytes]), format: 'der', type: 'pkcs8' });
  const telnyxPrivateKey = ed25519(digest('telnyx'));
  const raw = createPublicKey(telnyxPrivateKey).export({ format: 'der', type: 'spki' }).subarray(12);
  return {
    secrets: {
      apiKeys: [`fuzz-key-a-${digest('key-a').toString('hex').slice(0, 24)}`, `fuzz-key-b-${digest('key-b').toString('hex').slice(0, 24)}`],
      twilioAuthToken: digest('twilio').toString('hex').slice(0, 32),
      telnyxPrivateKey,
      otherPrivateKey: ed25519(digest('other')),
      publicBaseUrl: PUBLIC_BASE_URL,
    },
    telnyxPublicKey: raw.toString('base64'),
  };
}

const { secrets, telnyxPublicKey } = secretsFor(SEED);
const taskQueue = `fuzz-${SEED}-${process.pid}`;
let apiUrl: URL;
let api: ServiceProcess;
let worker: ServiceProcess;
/** every process started, restarted ones too, for their output files */
const started: { name: 'api' | 'worker'; process: ServiceProcess }[] = [];
let connection: Connection;
let client: Client;
let pool: Pool;
const rss: { api: { pid?: number; start?: number; end?: number }; worker: { pid?: number; start?: number; end?: number } } = { api: {}, worker: {} };
let serviceEnv: Record<string, string>;
let apiPort: number;

function startService(name: 'api' | 'worker'): ServiceProcess {
  const running =
    name === 'worker'
      ? startServiceProcess('worker', serviceEnv)
      : startServiceProcess('api', {
          ...serviceEnv,
          PORT: String(apiPort),
          API_KEYS: secrets.apiKeys.join(','),
          WEBHOOK_PROVIDERS: 'twilio,telnyx',
          TWILIO_AUTH_TOKEN: secrets.twilioAuthToken,
          TELNYX_PUBLIC_KEY: telnyxPublicKey,
          PUBLIC_BASE_URL,
        });
  started.push({ name, process: running });
  if (name === 'api') api = running;
  else worker = running;
  return running;
}

/** Ready when the API answers /healthz 200: Temporal, Postgres, and a worker polling this task queue. */
async function waitHealthy(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await sendRequest(new http.Agent(), apiUrl, { method: 'GET', url: '/healthz', headers: {}, body: undefined }, 5000);
    if (answer.status === 200) return;
    for (const running of [api, worker]) {
      if (running.child.exitCode !== null) throw new Error(`a service process exited before it was ready:\n${running.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`the API never answered /healthz 200 (last: ${answer.status} ${answer.snippet}${answer.error ?? ''})\napi:\n${api.output()}\nworker:\n${worker.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

beforeAll(async () => {
  log(`seed ${SEED} — replay with FUZZ_SEED=${SEED} npx vitest run test/fuzz/api-fuzz.test.ts`);
  apiPort = await freePort();
  serviceEnv = {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_TASK_QUEUE: taskQueue,
    SMS_PROVIDER: 'sandbox',
    LOG_LEVEL: 'warn',
  };
  startService('worker');
  startService('api');
  apiUrl = new URL(`http://127.0.0.1:${apiPort}`);
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection, namespace: 'default' });
  pool = createPool(inject('databaseUrl'), 4);
  await waitHealthy(170_000);
  rss.api.pid = serviceNodePid(api.child.pid!);
  rss.worker.pid = serviceNodePid(worker.child.pid!);
  rss.api.start = rssMiB(rss.api.pid);
  rss.worker.start = rssMiB(rss.worker.pid);
}, 200_000);

afterAll(async () => {
  // The processes' whole output, for reading after a failure.
  const count: Record<string, number> = {};
  for (const { name, process: running } of started) {
    count[name] = (count[name] ?? 0) + 1;
    const file = path.join(os.tmpdir(), `fuzz-${SEED}-${name}${count[name] > 1 ? `-${count[name]}` : ''}.log`);
    writeFileSync(file, running.output());
    log(`${name} output: ${file}`);
  }
  await Promise.all(started.map(({ process: running }) => (running.child.exitCode === null ? running.terminate(20_000).catch(() => undefined) : undefined)));
  await pool?.end();
  await connection?.close();
}, 60_000);

/** The scenarios of this seed, as many as it takes to reach REQUESTS requests. */
function generate(): Scenario[] {
  const sampled = fc.sample(scenarioArb, { seed: SEED, numRuns: REQUESTS });
  const chosen: Scenario[] = [];
  let requests = 0;
  for (const scenario of sampled) {
    if (requests >= REQUESTS) break;
    chosen.push(scenario);
    requests += scenario.steps.length;
  }
  return chosen;
}

function reproduction({ request, answer }: Outcome): string {
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `-H ${JSON.stringify(`${name}: ${name === 'authorization' && value.includes('fuzz-key') ? value.replace(/fuzz-key-[ab]-\w+/, '$API_KEY') : value}`)}`)
    .join(' ');
  const body = request.body ? request.body.toString('utf8') : undefined;
  const shownBody = body === undefined ? '' : body.length > 1500 ? `${JSON.stringify(body.slice(0, 1500))}… (${request.body!.length} bytes)` : JSON.stringify(body);
  return [
    `#${request.scenario}.${request.step} ${request.route} → ${answer.status || answer.error} (${answer.ms.toFixed(0)} ms) [${request.scenarioKind}]`,
    `  what: ${request.notes.join('; ')}${request.features.length > 0 ? ` [${request.features.join(', ')}]` : ''}`,
    `  request: ${request.method} ${request.url.length > 300 ? `${request.url.slice(0, 300)}…` : request.url} ${headers}`,
    ...(body !== undefined ? [`  body: ${shownBody}`] : []),
    `  answer: ${answer.snippet.slice(0, 400)}`,
  ].join('\n');
}

/** Log lines at warn and above, grouped by message and error, most frequent first. */
function logSummary(lines: LogLine[], levels: string[]): string[] {
  const groups = new Map<string, { count: number; example: LogLine }>();
  for (const line of lines) {
    if (!levels.includes(line.level)) continue;
    const err = line.err as { type?: string; message?: string } | undefined;
    const detail = err?.message ?? (line.why as string | undefined) ?? (line.error as string | undefined) ?? (line.reason as string | undefined) ?? '';
    const key = `${line.level} ${line.msg} ${err?.type ?? ''} ${String(detail).replace(/[+]\d{6,15}|\b[0-9a-f-]{20,}\b|\d+/g, 'N').slice(0, 200)}`;
    const group = groups.get(key);
    if (group) group.count += 1;
    else groups.set(key, { count: 1, example: line });
  }
  return [...groups.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, 25)
    .map(([key, { count, example }]) => `${count}× ${key.slice(0, 300)}${example.workflowId ? ` (e.g. ${String(example.workflowId)})` : ''}`);
}

it(
  `${REQUESTS} generated requests: no 5xx, both processes alive, refused requests leave no trace, accepted ones are processed`,
  async () => {
    const testStarted = Date.now();
    for (const body of CHECKED_STOP_BODIES) expect(classifyInbound(body).intent, `${JSON.stringify(body)} is a plain opt-out`).toBe('opt_out');
    const scenarios = generate();
    const allocator = new PhoneAllocator(SEED);
    let token = 0;
    const seedTag = SEED.toString(36);
    const nextToken = () => `${seedTag}z${(token++).toString(36)}`;
    // Fresh numbers and ids are given out here, in scenario order, so the same seed gives the same requests.
    const contexts = scenarios.map((scenario, index) => {
      const context = new ScenarioContext(allocator, nextToken);
      scenario.steps.forEach((step, stepIndex) => materialise(step, context, secrets, { index: 0, scenario: index, step: stepIndex, scenarioKind: scenario.kind }));
      return context;
    });
    const total = scenarios.reduce((sum, scenario) => sum + scenario.steps.length, 0);
    log(`${total} requests in ${scenarios.length} scenarios, ${CONCURRENCY} at a time, API ${apiUrl.href}, task queue ${taskQueue}`);

    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const outcomes: Outcome[] = [];
    const sendStarted = Date.now();
    let sent = 0;
    let skipped = 0;
    const retried503: Outcome[] = [];
    const inFlight = new Map<string, { route: string; since: number; request: ConcreteRequest }>();
    // A process that exits is recorded with what was in flight then, and started again (up to MAX_RESTARTS) so the
    // run goes on finding other bugs; the test fails either way.
    const exits: { name: string; code: number | null; signal: string | null; inFlight: ConcreteRequest[]; sentBefore: number }[] = [];
    let restarting: Promise<void> | undefined;
    let giveUp = false;
    let sending = true;
    const handled = new WeakSet<ServiceProcess>();
    const snapshot = () => [...inFlight.values()].map((entry) => entry.request);
    const recover = (name: 'api' | 'worker', running: ServiceProcess, suspects: ConcreteRequest[]): Promise<void> => {
      if (handled.has(running)) return restarting ?? Promise.resolve();
      handled.add(running);
      const { exitCode: code, signalCode: signal } = running.child;
      exits.push({ name, code, signal, inFlight: suspects, sentBefore: sent });
      log(`the ${name} process exited (code ${code}, signal ${signal}) after ${sent} requests${exits.length <= MAX_RESTARTS ? '; starting it again' : '; no more restarts, sending stops'}`);
      if (exits.length > MAX_RESTARTS) {
        giveUp = true;
        return Promise.resolve();
      }
      restarting = (async () => {
        watch(name, startService(name));
        try {
          await waitHealthy(120_000);
          if (name === 'api') rss.api.pid = serviceNodePid(api.child.pid!);
          else rss.worker.pid = serviceNodePid(worker.child.pid!);
        } catch (error) {
          log(`the restarted ${name} did not become healthy: ${(error as Error).message.slice(0, 300)}`);
          giveUp = true;
        }
        restarting = undefined;
      })();
      return restarting;
    };
    function watch(name: 'api' | 'worker', running: ServiceProcess) {
      void running.exited.then(() => {
        if (sending) void recover(name, running, snapshot());
      });
    }
    watch('api', api);
    watch('worker', worker);
    /** A dropped or refused connection: if the API is exiting, what was in flight is what to look at; then wait for its restart. */
    const connectionLost = async (request: ConcreteRequest): Promise<boolean> => {
      const current = api;
      const suspects = [...snapshot(), request];
      const exited = await Promise.race([current.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 8000))]);
      if (!exited) return false;
      await recover('api', current, suspects);
      return true;
    };
    const progress = setInterval(() => {
      const oldest = [...inFlight.values()].sort((a, b) => a.since - b.since)[0];
      const classes = outcomes.reduce<Record<string, number>>((counts, { answer }) => {
        const cls = answer.status === 0 ? 'none' : `${Math.floor(answer.status / 100)}xx`;
        counts[cls] = (counts[cls] ?? 0) + 1;
        return counts;
      }, {});
      log(`${sent}/${total} sent in ${((Date.now() - sendStarted) / 1000).toFixed(0)} s ${JSON.stringify(classes)}; oldest in flight: ${oldest ? `${oldest.route} ${((Date.now() - oldest.since) / 1000).toFixed(1)} s` : 'none'}`);
    }, 15_000);
    await runBounded(scenarios, CONCURRENCY, async (scenario, index) => {
      const context = contexts[index]!;
      for (const [stepIndex, step] of scenario.steps.entries()) {
        while (restarting) await restarting;
        if (Date.now() - sendStarted > SEND_BUDGET_MS || giveUp) {
          skipped += scenario.steps.length - stepIndex;
          return;
        }
        const request = materialise(step, context, secrets, { index: sent, scenario: index, step: stepIndex, scenarioKind: scenario.kind });
        if (request.telnyx) Object.assign(request.headers, telnyxHeaders(request.telnyx.signing, request.telnyx.raw, secrets, Math.floor(Date.now() / 1000)));
        let answer: Answer;
        for (let attempt = 1; ; attempt++) {
          inFlight.set(`${index}.${stepIndex}`, { route: request.route, since: Date.now(), request });
          answer = await sendRequest(agent, apiUrl, request, REQUEST_TIMEOUT_MS);
          inFlight.delete(`${index}.${stepIndex}`);
          // A read answered 503 is retried as the API asks (Retry-After), twice: the state of a contact whose actor is
          // just starting may be unreadable for a moment on a loaded machine (fail closed). Still 503 after that: a 5xx.
          if (answer.status === 503 && (request.method === 'GET' || request.method === 'HEAD') && attempt <= 2) {
            retried503.push({ request, answer });
            await new Promise((resolve) => setTimeout(resolve, Math.min(5, answer.retryAfter ?? 1) * 1000));
            continue;
          }
          if (answer.status !== 0 || !/ECONNREFUSED|ECONNRESET|socket hang up/.test(answer.error ?? '')) break;
          const crashed = await connectionLost(request);
          // A refused connection never reached the API: send it again to the restarted one.
          if (!crashed || !answer.error!.includes('ECONNREFUSED') || attempt >= 3 || giveUp) break;
          while (restarting) await restarting;
          if (request.telnyx) Object.assign(request.headers, telnyxHeaders(request.telnyx.signing, request.telnyx.raw, secrets, Math.floor(Date.now() / 1000)));
        }
        sent += 1;
        const json = answer.json as Record<string, unknown> | undefined;
        if (json && typeof json === 'object') {
          if (typeof json.providerMessageId === 'string') context.previous.providerMessageId = json.providerMessageId;
          if (typeof json.importId === 'string') context.previous.importId = json.importId;
          if (typeof json.idempotencyKey === 'string') context.previous.idempotencyKey = json.idempotencyKey;
          if (step.route === 'POST /v1/programs' && typeof json.id === 'string') context.previous.programId = json.id;
        }
        // Keep the bytes of what failed only (50,000 requests would otherwise hold every body).
        if (answer.status > 0 && answer.status < 500) {
          request.body = undefined;
          if (answer.status >= 300) request.value = undefined;
        }
        outcomes.push({ request, answer });
      }
    });
    sending = false;
    clearInterval(progress);
    agent.destroy();
    const outcomesFile = path.join(os.tmpdir(), `fuzz-${SEED}-outcomes.jsonl`);
    writeFileSync(
      outcomesFile,
      outcomes
        .map(({ request, answer }) => JSON.stringify({ id: `${request.scenario}.${request.step}`, kind: request.scenarioKind, route: request.route, status: answer.status, ms: Math.round(answer.ms), notes: request.notes, error: answer.error, answer: answer.status >= 500 || answer.status === 0 ? answer.snippet.slice(0, 300) : undefined }))
        .join('\n'),
    );
    log(`every request and its answer: ${outcomesFile}`);
    const elapsedMs = Date.now() - sendStarted;
    rss.api.end = rssMiB(rss.api.pid);
    rss.worker.end = rssMiB(rss.worker.pid);

    // (1) no 5xx, and every request answered
    const serverErrors = outcomes.filter(({ answer }) => answer.status >= 500);
    const unanswered = outcomes.filter(({ answer }) => answer.status === 0);

    // (2) both processes alive, /healthz 200
    const alive = { api: api.child.exitCode === null && isAlive(rss.api.pid), worker: worker.child.exitCode === null && isAlive(rss.worker.pid) };
    let health: { status: number; snippet: string } = { status: 0, snippet: '' };
    const healthDeadline = Date.now() + 20_000;
    while (Date.now() < healthDeadline) {
      health = await sendRequest(new http.Agent(), apiUrl, { method: 'GET', url: '/healthz', headers: {}, body: undefined }, 5000);
      if (health.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    const settleStarted = Date.now();
    // (4) accepted requests processed to the end, waited for with a deadline
    const expectations = expectationsFor(outcomes);
    let unmet = new Map<Expectation, string>();
    const checksEnd = testStarted + CHECKS_END_MS;
    const settleDeadline = Math.min(Date.now() + SETTLE_MS, checksEnd - 40_000);
    // Each round reads again only what did not hold yet; a round may read past the settle deadline, not past the checks'.
    let pendingExpectations = expectations;
    for (;;) {
      unmet = await unmetExpectations(client, pool, pendingExpectations, Math.max(Math.min(Date.now() + 60_000, checksEnd - 30_000), Date.now() + 5000));
      pendingExpectations = [...unmet.keys()];
      if (unmet.size === 0 || Date.now() > settleDeadline) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }

    // (3) refused requests and reads left nothing behind
    const settledMs = Date.now() - settleStarted;
    const listing = await listWorkflows(client, taskQueue);
    const rejectedTraces = await tracesOfTracelessRequests(pool, listing, outcomes, isRejected);
    const readTraces = await tracesOfTracelessRequests(pool, listing, outcomes, (outcome) => isRejected(outcome) || isRead(outcome));
    // The no-trace check must see traces where there are some: the numbers of accepted STOPs, taken as if refused.
    const acceptedStops = (outcome: Outcome) => outcome.request.scenarioKind === 'stop' && outcome.answer.status >= 200 && outcome.answer.status < 300;
    const oracleCheck = outcomes.some(acceptedStops) ? await tracesOfTracelessRequests(pool, listing, outcomes, (outcome) => acceptedStops(outcome) || isRejected(outcome)) : undefined;
    const readOnlyTraces = readTraces.found.filter((trace) => trace.requests.some(isRead) && !rejectedTraces.found.some((other) => other.phone === trace.phone && other.id === trace.id));

    // The summary.
    const byClass: Record<string, number> = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, 'no answer': 0 };
    const byRoute = new Map<string, Record<string, number>>();
    for (const { request, answer } of outcomes) {
      const cls = answer.status === 0 ? 'no answer' : `${Math.floor(answer.status / 100)}xx`;
      byClass[cls] = (byClass[cls] ?? 0) + 1;
      const route = byRoute.get(request.route) ?? {};
      route[answer.status || 'none'] = (route[answer.status || 'none'] ?? 0) + 1;
      byRoute.set(request.route, route);
    }
    const slowest = outcomes.reduce((worst, outcome) => (outcome.answer.ms > worst.answer.ms ? outcome : worst), outcomes[0]!);
    const states = await readStates(client, listing.runningContacts, Math.max(checksEnd, Date.now() + 5000));
    const withPending = [...states.entries()].filter(([, view]) => view.state && pendingOf(view.state) > 0);
    const unreadable = [...states.entries()].filter(([, view]) => !view.state);
    const stops = expectations.filter((e) => e.kind === 'contact' && e.stops > 0);
    const percent = (n: number) => `${((100 * n) / outcomes.length).toFixed(1)}%`;
    const mib = (value: number | undefined) => (value === undefined ? 'gone' : `${value.toFixed(0)} MiB`);

    log(`seed ${SEED}: ${outcomes.length} requests in ${(elapsedMs / 1000).toFixed(1)} s (${((outcomes.length * 1000) / elapsedMs).toFixed(0)}/s, ${CONCURRENCY} at a time); generating took ${((sendStarted - testStarted) / 1000).toFixed(1)} s, settling ${(settledMs / 1000).toFixed(1)} s, the checks after it ${((Date.now() - settleStarted - settledMs) / 1000).toFixed(1)} s`);
    log(`status classes: ${Object.entries(byClass).map(([cls, n]) => `${cls} ${n} (${percent(n)})`).join(', ')}; 422 send refusals ${outcomes.filter(isDecidedRefusal).length}`);
    for (const [route, statuses] of [...byRoute.entries()].sort()) log(`  ${route}: ${Object.entries(statuses).map(([status, n]) => `${status}×${n}`).join(' ')}`);
    log(`reads answered 503 and sent again: ${retried503.length}${retried503.length > 0 ? ` (${[...new Set(retried503.map(({ request }) => request.route))].join(', ')})` : ''}`);
    log(`slowest: ${slowest.request.route} ${slowest.answer.ms.toFixed(0)} ms (#${slowest.request.scenario}.${slowest.request.step}: ${slowest.request.notes.join('; ').slice(0, 120)})`);
    log(`RSS api (pid ${rss.api.pid}, ${commandLine(rss.api.pid ?? 0).slice(0, 80)}): start ${mib(rss.api.start)}, end ${mib(rss.api.end)}`);
    log(`RSS worker (pid ${rss.worker.pid}, ${commandLine(rss.worker.pid ?? 0).slice(0, 80)}): start ${mib(rss.worker.start)}, end ${mib(rss.worker.end)}`);
    log(`actors: ${listing.runningContacts.length} running; with anything pending at the end: ${withPending.length}; state unreadable: ${unreadable.length}`);
    log(`workflows on the task queue: ${Object.entries(listing.byStatus).map(([status, n]) => `${status} ${n}`).join(', ')}`);
    log(`accepted STOPs checked: ${stops.length} contacts; expectations ${expectations.length}, unmet ${unmet.size}`);
    log(`no-trace check: ${rejectedTraces.checkedPhones} numbers and ${rejectedTraces.checkedIds} ids seen only in refused requests, ${readTraces.checkedPhones} numbers only in refused requests or reads`);
    log(`processes alive: api ${alive.api}, worker ${alive.worker}; /healthz ${health.status}`);

    const report: string[] = [];
    for (const exit of exits) {
      report.push(`the ${exit.name} process EXITED (code ${exit.code}, signal ${exit.signal}) after ${exit.sentBefore} requests. In flight when it exited:`);
      for (const request of exit.inFlight) report.push(reproduction({ request, answer: { status: 0, ms: 0, contentType: '', snippet: '', json: undefined, error: 'in flight at the exit' } }));
    }
    for (const { name, process: running } of started.filter(({ process: running }) => running.child.exitCode !== null && running !== api && running !== worker)) {
      report.push(`the last output of the ${name} that exited:\n${running.output().slice(-3000)}`);
    }
    if (serverErrors.length > 0 || unanswered.length > 0) {
      const groups = new Map<string, Outcome[]>();
      for (const outcome of [...serverErrors, ...unanswered]) {
        const key = `${outcome.request.route} → ${outcome.answer.status || `no answer (${outcome.answer.error})`} | ${outcome.request.features.join(', ') || 'no odd values'}`;
        groups.set(key, [...(groups.get(key) ?? []), outcome]);
      }
      report.push(`${serverErrors.length} answers were 5xx and ${unanswered.length} got no answer:`);
      for (const [key, members] of groups) {
        // Up to three examples a group, each doing something else to the request.
        const examples = [...new Map(members.map((member) => [member.request.notes[0] ?? '', member])).values()].slice(0, 3);
        report.push(`— ${members.length}× ${key}\n${examples.map((example) => reproduction(example)).join('\n')}`);
      }
      report.push(`API error lines:\n${logSummary(api.lines, ['error', 'fatal']).join('\n') || '(none)'}`);
    }
    if (retried503.length > 0) {
      log(`the reads answered 503 before a retry (fail closed while the state was unreadable):\n${retried503.slice(0, 3).map((outcome) => reproduction(outcome)).join('\n')}`);
    }
    if (unmet.size > 0) {
      report.push(`${unmet.size} accepted requests were not processed to the end within ${SETTLE_MS} ms:`);
      for (const [expectation, why] of [...unmet.entries()].slice(0, 40)) {
        const requests = 'requests' in expectation ? expectation.requests : [expectation.request];
        const subject = expectation.kind === 'contact' ? expectation.contact : expectation.kind === 'sent' ? expectation.idempotencyKey : expectation.kind === 'import' ? expectation.importId : expectation.id;
        report.push(`— ${expectation.kind} ${subject}: ${why}\n${requests.slice(0, 2).map((outcome) => reproduction(outcome)).join('\n')}`);
      }
    }
    if (withPending.length > 0) {
      report.push(`actors with something pending: ${withPending.slice(0, 20).map(([phone, view]) => `${phone} (replies ${view.state!.pendingReplies.length}, ledger ${view.state!.pendingLedger.length})`).join(', ')}`);
    }
    for (const [label, traces] of [
      ['refused (4xx) requests', rejectedTraces.found],
      ['successful reads', readOnlyTraces],
    ] as const) {
      if (traces.length === 0) continue;
      report.push(`${traces.length} numbers or ids seen only in ${label} have a workflow or a row:`);
      for (const trace of traces.slice(0, 20)) report.push(`— ${trace.phone ?? trace.id}: ${trace.where.join(', ')}\n${trace.requests.slice(0, 2).map((outcome) => reproduction(outcome)).join('\n')}`);
    }
    if (listing.closedBadly.length > 0) report.push(`workflows that failed or were terminated: ${listing.closedBadly.slice(0, 20).join(', ')}`);
    const workerProblems = logSummary(worker.lines, ['error', 'fatal', 'warn']);
    if (report.length > 0) {
      report.push(`worker warn/error lines:\n${workerProblems.join('\n') || '(none)'}`);
      if (!alive.api) report.push(`API output (tail):\n${api.output().slice(-4000)}`);
      if (!alive.worker) report.push(`worker output (tail):\n${worker.output().slice(-4000)}`);
      console.error(`[fuzz] seed ${SEED} FAILED (replay: FUZZ_SEED=${SEED})\n${report.join('\n')}`);
    }

    /** Counts by kind, so a failure reads as a short list (the report above has the requests). */
    const tally = (keys: string[]) => keys.reduce<Record<string, number>>((counts, key) => ({ ...counts, [key]: (counts[key] ?? 0) + 1 }), {});
    const kindOf = ({ request, answer }: Outcome) => `${request.route} → ${answer.status || answer.error} | ${request.features.join(', ') || 'no odd values'}`;
    expect.soft(tally(serverErrors.map(kindOf)), '(1) no 5xx').toEqual({});
    expect.soft(tally(unanswered.map(kindOf)), '(1) every request answered').toEqual({});
    expect.soft(alive, '(2) both processes alive').toEqual({ api: true, worker: true });
    expect.soft(exits.map((exit) => `${exit.name} exited (code ${exit.code}, signal ${exit.signal})`), '(2) no process exited during the run').toEqual([]);
    expect.soft(health.status, '(2) /healthz answers 200 at the end').toBe(200);
    expect.soft(rejectedTraces.found.map((trace) => `${trace.phone ?? trace.id}: ${trace.where.join(', ')}`), '(3) refused requests left no workflow and no row').toEqual([]);
    expect.soft(readOnlyTraces.map((trace) => `${trace.phone ?? trace.id}: ${trace.where.join(', ')}`), '(3) reads left no workflow and no row').toEqual([]);
    expect.soft(tally([...unmet.values()].map((why) => why.replace(/\+\d{7,15}/g, '+…'))), '(4) accepted requests were processed to the end').toEqual({});
    expect.soft(withPending.length, `(4) no actor has anything pending (${withPending.slice(0, 5).map(([phone]) => phone).join(', ')}…)`).toBe(0);
    expect.soft(listing.closedBadly, 'no workflow failed').toEqual([]);
    expect.soft(skipped, `all ${total} requests sent (within ${SEND_BUDGET_MS} ms, no process exited)`).toBe(0);
    expect(stops.length, 'the mix checked some STOPs in full').toBeGreaterThan(0);
    if (oracleCheck) expect(oracleCheck.found.length, 'the no-trace check finds the traces of accepted STOPs when asked to').toBeGreaterThan(0);
  },
  TEST_TIMEOUT_MS,
);


