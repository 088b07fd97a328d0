/**
 * `npm start`: the whole service on its embedded defaults — the Temporal dev server (SQLite in DATA_DIR, Web UI on),
 * Postgres (DATABASE_URL, the local server, or an embedded one), the worker and the HTTP API, in one process.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { resolveApiAccess } from '../client/http/access';
import { startApi } from '../client/http/main';
import { loadConfig } from '../client/config';
import { startWorker } from '../worker/main';
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

  const temporal = env.TEMPORAL_ADDRESS
    ? { address: env.TEMPORAL_ADDRESS, stop: async () => undefined }
    : await startDevTemporal({
        dbFilename: path.join(dataDir, 'temporal.sqlite'),
        port: env.TEMPORAL_DEV_PORT,
        ui: true,
        uiPort: env.TEMPORAL_UI_PORT,
        namespace: env.TEMPORAL_NAMESPACE,
        log,
      });
  const postgres = await ensurePostgresServer({ dataDir, log });
  const databaseUrl = postgres.origin === 'DATABASE_URL' ? postgres.url : await ensureDatabase(postgres.url, DEV_DATABASE_NAME);

  const worker = await startWorker(config, temporal.address, databaseUrl);
  const api = await startApi(config, temporal.address, databaseUrl);

  log(`Temporal:  ${temporal.address}${env.TEMPORAL_ADDRESS ? '' : ` (dev server, data in ${path.join(dataDir, 'temporal.sqlite')})`}`);
  if (!env.TEMPORAL_ADDRESS) log(`Web UI:    http://127.0.0.1:${env.TEMPORAL_UI_PORT}/namespaces/${env.TEMPORAL_NAMESPACE}/workflows`);
  log(`Postgres:  ${redactPassword(databaseUrl)} (${postgres.origin})`);
  log(`Worker:    task queue ${env.TEMPORAL_TASK_QUEUE}, provider ${env.SMS_PROVIDER}`);
  log(`HTTP API:  ${api.url}`);
  log(`ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s — Ctrl-C to stop`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping…');
    await api.stop();
    if (worker.worker.getState() === 'RUNNING') worker.worker.shutdown();
    await worker.done;
    await temporal.stop();
    await postgres.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  // The SDK's runtime may drain the worker on the signal before our handler runs: stop the rest then too.
  void worker.done.then(() => stop());
}

function redactPassword(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
