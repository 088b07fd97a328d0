/** Per test file: a worker on its own task queue against the run's shared dev server and database. */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { inject } from 'vitest';
import { createPool } from '../../activities/postgres/pool';
import { createSandboxProvider } from '../../activities/providers/sandbox';
import type { SmsProvider } from '../../activities/providers/provider';
import { ConsentClient, type ConsentClientOptions } from '../../client/consent-client';
import type { ComplianceClockSettings } from '../../workflows/domain/compliance-clock';
import type { ApiDependencies } from '../../client/http/server';
import { createConsentWorker } from '../../worker/consent-worker';
import type { ContactWorkflowSettings } from '../../workflows/contact';
import { ALWAYS_OPEN } from './clock';
import { TEST_PROFILE } from './profile';

// The SDK's own INFO lines (worker state changes) drown the test output; warnings still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

export { TEST_PROFILE };

export interface HarnessOptions {
  provider?: (pool: Pool) => SmsProvider;
  workflowSettings?: ContactWorkflowSettings;
  /** false: start no worker (for fail-closed and durability tests) */
  worker?: boolean;
  sendDecisionTimeoutMs?: number;
  /** wraps the pool the worker's activities use (to inject database faults) */
  wrapWorkerPool?: (pool: Pool) => Pool;
  /**
   * The compliance clock of the worker's gate and the client's can-send. Default ALWAYS_OPEN: a test of something else
   * must not depend on the hour it runs at; the clock's own tests move the windows (the server cannot skip time).
   */
  clock?: ComplianceClockSettings;
  /** the client's double opt-in settings (tests shorten the window) */
  doubleOptIn?: ConsentClientOptions['doubleOptIn'];
}

export interface Harness {
  client: Client;
  consent: ConsentClient;
  pool: Pool;
  taskQueue: string;
  namespace: string;
  temporalAddress: string;
  databaseUrl: string;
  worker: Worker | undefined;
  startWorker(): Promise<Worker>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const temporalAddress = inject('temporalAddress');
  const databaseUrl = inject('databaseUrl');
  const workflowBundlePath = inject('workflowBundlePath');
  const namespace = 'default';
  const taskQueue = `test-${randomUUID()}`;
  const pool = createPool(databaseUrl, 5);
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, namespace });
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
  const provider = (options.provider ?? createSandboxProvider)(pool);
  let running: { worker: Worker; done: Promise<void> } | undefined;

  const harness: Harness = {
    client,
    consent: new ConsentClient({
      client,
      taskQueue,
      pool,
      workflowSettings: options.workflowSettings,
      sendDecisionTimeoutMs: options.sendDecisionTimeoutMs,
      clock: options.clock ?? ALWAYS_OPEN,
      doubleOptIn: options.doubleOptIn,
    }),
    pool,
    taskQueue,
    namespace,
    temporalAddress,
    databaseUrl,
    get worker() {
      return running?.worker;
    },
    async startWorker() {
      const worker = await createConsentWorker({
        connection: nativeConnection,
        namespace,
        taskQueue,
        pool: options.wrapWorkerPool ? options.wrapWorkerPool(pool) : pool,
        provider,
        profile: TEST_PROFILE,
        client,
        workflowBundlePath,
        clock: options.clock ?? ALWAYS_OPEN,
      });
      running = { worker, done: worker.run() };
      return worker;
    },
    async stopWorker() {
      if (!running) return;
      running.worker.shutdown();
      await running.done;
      running = undefined;
    },
    async stop() {
      await harness.consent.stopBacklogDrain();
      await harness.stopWorker();
      await nativeConnection.close();
      await connection.close();
      await pool.end();
    },
  };
  if (options.worker !== false) await harness.startWorker();
  // As the API does: a signal Temporal could not take in time (a loaded machine) reaches its actor all the same.
  harness.consent.startBacklogDrain(250, { info: () => undefined, warn: (line) => console.warn(`[harness] ${line}`) });
  return harness;
}

const AREA_CODES = ['212', '312', '415', '617', '646', '206', '303', '512'];
// 555 is reserved for fiction and N11 codes are service codes: libphonenumber rejects some of them.
const EXCHANGES = Array.from({ length: 800 }, (_, i) => i + 200).filter((exchange) => exchange !== 555 && exchange % 100 !== 11);
const PHONE_SPACE = AREA_CODES.length * EXCHANGES.length * 10_000;
const PHONE_BLOCK = 50_000;
let phoneBlock: { next: number; end: number } | undefined;

/**
 * A fresh, valid US number for each call, never the same twice in one run, across every test file and process. All
 * files share one dev server and one database, and numbers drawn at random (as before) met: n draws from these 63
 * million numbers give about n²/126 million pairs, 1.8 at 15,000. Two files then shared one contact, whose actor an
 * earlier file's stopped worker had held (every query timed out), or whose rows a "nothing written" check found.
 * Each process claims blocks of numbers by creating the block's directory (mkdir is atomic), then counts through it.
 */
export function uniquePhone(): string {
  if (!phoneBlock || phoneBlock.next === phoneBlock.end) phoneBlock = claimPhoneBlock();
  const index = (inject('phoneBase') + phoneBlock.next++) % PHONE_SPACE;
  const rest = Math.floor(index / AREA_CODES.length);
  const line = String(rest % 10_000).padStart(4, '0');
  return `+1${AREA_CODES[index % AREA_CODES.length]}${EXCHANGES[Math.floor(rest / 10_000)]}${line}`;
}

function claimPhoneBlock(): { next: number; end: number } {
  const blocks = inject('phoneBlocksDir');
  for (let block = 0; (block + 1) * PHONE_BLOCK <= PHONE_SPACE; block += 1) {
    try {
      mkdirSync(path.join(blocks, String(block)));
      return { next: block * PHONE_BLOCK, end: (block + 1) * PHONE_BLOCK };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`every block of ${PHONE_BLOCK} test numbers in ${blocks} is claimed`);
}

/** `count` numbers from uniquePhone, none twice (a test that needs them all distinct, e.g. a campaign's recipients). */
export function distinctPhones(count: number): string[] {
  const phones = new Set<string>();
  while (phones.size < count) phones.add(uniquePhone());
  return [...phones];
}

/** Polls until the predicate holds; the last value is returned, or the last state is reported on timeout. */
export async function waitFor<T>(
  read: () => Promise<T>,
  predicate: (value: T) => boolean,
  { timeoutMs = 30_000, intervalMs = 50, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (predicate(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}${lastError ? `; last error: ${String(lastError)}` : ''}`,
  );
}

/** Every outbound row for one contact, oldest first. */
export async function outboundFor(pool: Pool, contact: string) {
  const { rows } = await pool.query<{ kind: string; body: string; status: string; business_number: string; idempotency_key: string; attempts: number; provider_message_id: string | null }>(
    'SELECT kind, body, status, business_number, idempotency_key, attempts, provider_message_id FROM outbound_messages WHERE contact = $1 ORDER BY created_at, id',
    [contact],
  );
  return rows;
}

export function inboundText(from: string, to: string, body: string, messageId = `SM${randomUUID().replaceAll('-', '')}`) {
  return { messageId, from, to, body, receivedAt: new Date().toISOString() };
}

/** The HTTP API in front of a harness, for `inject()` requests (no socket); `access` adds API keys and webhook secrets. */
export async function buildTestApi(harness: Harness, taskQueue = harness.taskQueue, access: Pick<ApiDependencies, 'apiKeys' | 'webhooks'> = {}) {
  const { buildApiServer } = await import('../../client/http/server');
  const api = buildApiServer({ consent: harness.consent, client: harness.client, pool: harness.pool, namespace: harness.namespace, taskQueue, ...access });
  await api.ready();
  return api;
}
