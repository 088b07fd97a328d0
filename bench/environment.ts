/**
 * What every scenario runs against: an embedded Temporal dev server (SQLite in WAL mode, fsync off, as the TS SDK's
 * own stress runs use it) or TEMPORAL_ADDRESS; a fresh Postgres database per run (dropped at the end) or DATABASE_URL;
 * the workflow bundles built once; and a worker process per scenario, started fresh with the tuning it asks for.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { Pool } from 'pg';
import { migrate } from '../activities/postgres/migrate';
import { createPool } from '../activities/postgres/pool';
import { ConsentClient } from '../client/consent-client';
import { dropDatabase, ensureDatabase, ensurePostgresServer } from '../dev/postgres';
import { startDevTemporal } from '../dev/temporal-server';
import { preloadedWorkflowModules, workflowsPath, type ConsentWorkerTuning } from '../worker/consent-worker';
import { ALL_DAY_COMPLIANCE_CLOCK, type ComplianceClockSettings } from '../workflows/domain/compliance-clock';
import { startBenchWorker, type BenchWorker } from './worker-handle';
import type { BenchWorkerConfig } from './worker-process';

/** The TS SDK's stress workflow runs its dev server so: WAL lets reads pass writes, and no fsync per commit. */
export const SQLITE_PRAGMAS = ['journal_mode=WAL', 'synchronous=OFF'];

export interface EnvironmentDescription {
  temporal: string;
  /** the dev server's own command line, read back from /proc (proof the pragmas reached it) */
  temporalCommandLine: string | null;
  sqliteWal: boolean | null;
  postgres: string;
}

export interface BenchEnvironment {
  description: EnvironmentDescription;
  temporalAddress: string;
  databaseUrl: string;
  namespace: string;
  client: Client;
  /** the driver's own pool (baselines' SELECTs, progress polls) */
  pool: Pool;
  serverMetricsUrl: string | null;
  /** the embedded dev server's pid, for CPU accounting */
  serverPid: number | null;
  /** the bench database's name, to find its Postgres backends */
  databaseName: string;
  /** a worker process of this kind on a fresh task queue, with the given tuning (and a consent worker's clock: default all day open) */
  startWorker(
    kind: BenchWorkerConfig['kind'],
    tuning: ConsentWorkerTuning,
    options?: { taskQueue?: string; postgresPoolSize?: number; clock?: ComplianceClockSettings },
  ): Promise<StartedWorker>;
  /** `clock`: what its canSend answers apply (default all day open, as the worker's) */
  consentClient(taskQueue: string, options?: { clock?: ComplianceClockSettings }): ConsentClient;
  stop(): Promise<void>;
}

export interface StartedWorker extends BenchWorker {
  taskQueue: string;
  metricsUrl: string;
}

export const DRIVER_POOL_SIZE = 16;
/** The worker's Postgres pool, as worker/main.ts sizes it. */
export const WORKER_POOL_SIZE = 10;

/**
 * The worker's V8 heap limit (`--max-old-space-size`), as docker-compose.yml sets it. Without one V8 lets the heap
 * grow long before collecting: measured, a 3,000-row import peaked at 495 MiB of worker RSS with Node's default and
 * 373 MiB with 256 MiB, at the same rate.
 */
export const WORKER_HEAP_MIB = 256;

export async function startBenchEnvironment(
  log: (message: string) => void,
  { workerHeapMiB = WORKER_HEAP_MIB }: { workerHeapMiB?: number } = {},
): Promise<BenchEnvironment> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'sms-consent-bench-'));
  const namespace = 'default';
  const stops: (() => Promise<void>)[] = [() => rm(scratch, { recursive: true, force: true })];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error) => log(`teardown: ${String(error)}`));
  };
  try {
    const dbFilename = path.join(scratch, 'temporal.sqlite');
    const serverMetricsPort = await freePort();
    const [temporal, postgres, consentBundle, noopBundle] = await Promise.all([
      process.env.TEMPORAL_ADDRESS
        ? Promise.resolve({ address: process.env.TEMPORAL_ADDRESS, stop: async () => undefined })
        : startDevTemporal({
            dbFilename,
            log,
            extraArgs: [...SQLITE_PRAGMAS.flatMap((pragma) => ['--sqlite-pragma', pragma]), '--metrics-port', String(serverMetricsPort)],
          }),
      ensurePostgresServer({ dataDir: path.join(os.tmpdir(), 'sms-consent-bench-postgres'), log }),
      // The production worker's bundle exactly: its preloaded modules too (else each actor re-evaluates zod).
      bundleWorkflowCode({ workflowsPath: workflowsPath(), preloadModules: preloadedWorkflowModules(), logger: quietBundlerLogger }),
      bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'workflows'), logger: quietBundlerLogger }),
    ]);
    stops.push(() => temporal.stop());
    stops.push(() => postgres.stop());
    const embeddedTemporal = !process.env.TEMPORAL_ADDRESS;

    let databaseUrl = postgres.url;
    let postgresDescription = `DATABASE_URL (${redactPassword(postgres.url)})`;
    if (postgres.origin !== 'DATABASE_URL') {
      const databaseName = `sms_consent_bench_${Date.now()}_${process.pid}`;
      databaseUrl = await ensureDatabase(postgres.url, databaseName);
      stops.push(() => dropDatabase(postgres.url, databaseName));
      postgresDescription = `fresh database ${databaseName} on ${postgres.origin} server (dropped at the end)`;
    }
    const pool = createPool(databaseUrl, DRIVER_POOL_SIZE);
    stops.push(() => pool.end());
    await migrate(pool);

    const consentBundlePath = path.join(scratch, 'consent-workflows.js');
    const noopBundlePath = path.join(scratch, 'noop-workflows.js');
    await writeFile(consentBundlePath, consentBundle.code);
    await writeFile(noopBundlePath, noopBundle.code);

    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace });

    const workers = new Set<StartedWorker>();
    stops.push(async () => {
      for (const worker of workers) await worker.stop();
    });

    const server = embeddedTemporal ? await processMentioning(dbFilename) : null;
    const description: EnvironmentDescription = {
      temporal: embeddedTemporal
        ? `embedded dev server ${temporal.address}, SQLite file, --sqlite-pragma ${SQLITE_PRAGMAS.join(' --sqlite-pragma ')}`
        : `TEMPORAL_ADDRESS ${temporal.address} (its own persistence; pragmas not ours to set)`,
      temporalCommandLine: server?.commandLine ?? null,
      sqliteWal: embeddedTemporal ? await exists(`${dbFilename}-wal`) : null,
      postgres: postgresDescription,
    };

    return {
      description,
      temporalAddress: temporal.address,
      databaseUrl,
      namespace,
      client,
      pool,
      serverMetricsUrl: embeddedTemporal ? `http://127.0.0.1:${serverMetricsPort}/metrics` : null,
      serverPid: server?.pid ?? null,
      databaseName: new URL(databaseUrl).pathname.slice(1),
      async startWorker(kind, tuning, { taskQueue, postgresPoolSize = WORKER_POOL_SIZE, clock } = {}) {
        const metricsPort = await freePort();
        const worker = await startBenchWorker(
          {
            kind,
            temporalAddress: temporal.address,
            databaseUrl,
            namespace,
            // A restarted worker takes over its predecessor's queue (its workflows are bound to it); else a fresh one.
            taskQueue: taskQueue ?? `bench-${kind}-${randomUUID().slice(0, 8)}`,
            bundlePath: kind === 'consent' ? consentBundlePath : noopBundlePath,
            tuning,
            postgresPoolSize,
            metricsPort,
            // A scenario that chooses no clock has every window open, so what it measures does not depend on the hour it
            // runs at (at US night the statutes' windows held every promotional send). quiet-hours sets its own.
            clock: clock ?? ALL_DAY_COMPLIANCE_CLOCK,
          },
          [...(workerHeapMiB ? [`--max-old-space-size=${workerHeapMiB}`] : []), ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
        );
        const started: StartedWorker = {
          ...worker,
          taskQueue: worker.config.taskQueue,
          metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
          async stop() {
            workers.delete(started);
            await worker.stop();
          },
        };
        workers.add(started);
        return started;
      },
      consentClient(taskQueue, { clock } = {}) {
        return new ConsentClient({ client, taskQueue, pool, clock: clock ?? ALL_DAY_COMPLIANCE_CLOCK });
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The process started with `needle` in its arguments (the dev server, found by its SQLite file), and its command line. */
async function processMentioning(needle: string): Promise<{ pid: number; commandLine: string } | null> {
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (commandLine.includes(needle)) return { pid: Number(entry), commandLine: commandLine.split('\0').filter(Boolean).join(' ') };
  }
  return null;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const listener = createServer();
    listener.on('error', reject);
    listener.listen(0, '127.0.0.1', () => {
      const address = listener.address();
      listener.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function redactPassword(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
