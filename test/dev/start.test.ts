/**
 * `npm start` stopped with SIGTERM (or Ctrl-C): the API stops accepting, the worker drains, then the Temporal dev
 * server it started goes down, and the process exits 0 with nothing left listening.
 */
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { inject, afterAll, expect, it } from 'vitest';
import { waitFor } from '../support/harness';
import { freePort, refusesConnections, startServiceProcess, type ServiceProcess } from '../support/service-process';

let start: ServiceProcess | undefined;
let dataDir: string | undefined;
afterAll(async () => {
  if (start && start.child.exitCode === null) start.child.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** The operator CLI with no DATABASE_URL or TEMPORAL_ADDRESS: it must find the running npm start by itself. */
async function cliAgainstStart(taskQueue: string, ...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir!, TEMPORAL_TASK_QUEUE: taskQueue };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(__dirname, '..', '..', 'client', 'cli', 'bin.cjs'), ...args], { env, timeout: 60_000 });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: `${failed.stdout}${failed.stderr}` };
  }
}

it('SIGTERM stops the API, drains the worker, stops the dev server, and exits 0', async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sms-consent-start-'));
  const taskQueue = `test-start-${randomUUID()}`;
  const [temporalPort, uiPort] = [await freePort(), await freePort()];
  start = startServiceProcess('start', {
    // Its own dev server (SQLite in DATA_DIR), the test run's database.
    DATABASE_URL: inject('databaseUrl'),
    DATA_DIR: dataDir,
    TEMPORAL_DEV_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    TEMPORAL_TASK_QUEUE: taskQueue,
    PORT: '0',
  });
  const listening = await start.waitForLine((line) => line.msg.startsWith('API listening'), 'the API to listen', 90_000);
  await start.waitForLine((line) => line.msg === 'Worker state changed' && line.state === 'RUNNING', 'the worker to run');

  // The CLI reaches this service through DATA_DIR/endpoints.json alone.
  await waitFor(() => access(path.join(dataDir!, 'endpoints.json')).then(() => true), (written) => written, { what: 'endpoints.json' });
  const contact = '+14155550142';
  const added = await cliAgainstStart(taskQueue, 'add-opt-out', contact, '--recorded-by', 'agent@acme.example');
  expect(added.code, added.stdout).toBe(0);
  const status = await waitFor(() => cliAgainstStart(taskQueue, 'status', contact), (result) => result.stdout.includes('OPTED OUT'), { what: 'the CLI to see the opt-out' });
  expect(status.stdout).toContain('recorded by agent@acme.example');

  const { code, elapsedMs } = await start.terminate(20_000);
  expect(code).toBe(0);
  for (const url of [String(listening.url), `http://127.0.0.1:${temporalPort}`, `http://127.0.0.1:${uiPort}`]) {
    await refusesConnections(url, 1000);
  }
  const messages = start.lines.map((line) => `${line.name} ${line.msg}${line.state ? ` ${String(line.state)}` : ''}`);
  const draining = messages.indexOf('start npm start: SIGTERM received, draining');
  expect(draining).toBeGreaterThanOrEqual(0);
  expect(messages.indexOf('worker Worker state changed STOPPED')).toBeGreaterThan(draining);
  expect(messages.at(-1)).toBe('start npm start: drained, exiting');
  console.info(`npm start exited ${elapsedMs} ms after SIGTERM`);
});
