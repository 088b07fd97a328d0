/**
 * `npm start`: the whole service on its embedded defaults — the Temporal dev server (SQLite in DATA_DIR, Web UI on),
 * Postgres (DATABASE_URL, the local server, or an embedded one), the worker and the HTTP API, in one process.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { resolveApiAccess } from '../client/http/access';
import { writeEndpoints } from '../client/cli/endpoints';
import { startApi } from '../client/http/main';
import { loadConfig } from '../client/config';
import { createLogger } from '../client/logger';
import { stopOnSignals } from '../client/shutdown';
import { temporalConnectionOptions } from '../client/temporal-connection';
import { startWorker } from '../worker/main';
import { installWorkerRuntime } from '../worker/runtime';
import { ensureDatabase, ensurePostgresServer } from './postgres';
import { startDevTemporal } from './temporal-server';

/** The database `npm start` keeps its ledger and outbox in, on a server it did not get from DATABASE_URL. */
const DEV_DATABASE_NAME = 'sms_consent';

async function main(): Promise<void> {
  const startedAt = Date.now();
  const config = loadConfig();
  const { env } = config;
  // Refuse a configuration that would run the API open before starting anything else.
  resolveApiAccess(env);
  const dataDir = path.resolve(env.DATA_DIR);
  await mkdir(dataDir, { recursive: true });
  const log = (message: string) => console.log(`[start] ${message}`);
  const logger = createLogger(env.LOG_LEVEL, 'start');
  const workerLogger = createLogger(env.LOG_LEVEL, 'worker');
  // First: the dev server below runs on the same Runtime, so its logs and metrics go where the worker's go.
  installWorkerRuntime(env, workerLogger);

  const temporal = env.TEMPORAL_ADDRESS
    ? { connection: await temporalConnectionOptions(env), stop: async () => undefined }
    : await startDevTemporal({
        dbFilename: path.join(dataDir, 'temporal.sqlite'),
        port: env.TEMPORAL_DEV_PORT,
        ui: true,
        uiPort: env.TEMPORAL_UI_PORT,
        namespace: env.TEMPORAL_NAMESPACE,
        log,
      }).then((server) => ({ connection: { address: server.address }, stop: server.stop }));
  const postgres = await ensurePostgresServer({ dataDir, log });
  const databaseUrl = postgres.origin === 'DATABASE_URL' ? postgres.url : await ensureDatabase(postgres.url, DEV_DATABASE_NAME);
  const endpoints = { temporal: temporal.connection, databaseUrl };

  const worker = await startWorker(config, endpoints, workerLogger);
  const api = await startApi(config, endpoints, createLogger(env.LOG_LEVEL, 'api'));

  log(`Temporal:  ${temporal.connection.address}${env.TEMPORAL_ADDRESS ? '' : ` (dev server, data in ${path.join(dataDir, 'temporal.sqlite')})`}`);
  if (!env.TEMPORAL_ADDRESS) log(`Web UI:    http://127.0.0.1:${env.TEMPORAL_UI_PORT}/namespaces/${env.TEMPORAL_NAMESPACE}/workflows`);
  log(`Postgres:  ${redactPassword(databaseUrl)} (${postgres.origin})`);
  log(`Worker:    task queue ${env.TEMPORAL_TASK_QUEUE}, provider ${env.SMS_PROVIDER}`);
  if (env.METRICS_BIND_ADDRESS) log(`Metrics:   http://${env.METRICS_BIND_ADDRESS}/metrics`);
  log(`HTTP API:  ${api.url}`);
  // The operator CLI finds this service through it when DATABASE_URL / TEMPORAL_ADDRESS are not set.
  await writeEndpoints(dataDir, { temporalAddress: temporal.connection.address, databaseUrl });
  log(`CLI:       npx sms-consent --help (reads ${path.join(dataDir, 'endpoints.json')})`);
  log(`ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s — Ctrl-C to stop`);

  // The API stops accepting first, then the worker drains, then what they ran on.
  const stopAll = async () => {
    await api.stop();
    await worker.stop();
    await temporal.stop();
    await postgres.stop();
  };
  stopOnSignals(logger, 'npm start', stopAll);
  worker.done.catch(async (error: unknown) => {
    logger.fatal({ err: error }, 'worker failed; stopping');
    await Promise.allSettled([api.stop(), temporal.stop(), postgres.stop()]);
    process.exit(1);
  });
}

function redactPassword(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

main().catch((error) => {
  // One line an operator can act on; the stack helps no one who ran `npm start`.
  console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
