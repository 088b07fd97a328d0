/**
 * `npm run build`, as the Dockerfile runs it: the compiled worker and API start with node on dist/, the worker loads
 * the workflow bundle made at build time instead of bundling again, and a STOP goes through it end to end.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inboundText, outboundFor, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { freePort, startServiceProcess, type ServiceProcess } from '../support/service-process';

const root = path.join(__dirname, '..', '..');
let harness: Harness;
const processes: ServiceProcess[] = [];
let buildOutput = '';

beforeAll(async () => {
  harness = await startHarness({ worker: false });
  const { stdout, stderr } = await promisify(execFile)('npm', ['run', '--silent', 'build'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  buildOutput = stdout + stderr;
}, 300_000);
afterAll(async () => {
  await Promise.all(processes.map((running) => (running.child.exitCode === null ? running.terminate(15_000) : undefined)));
  await harness?.stop();
});

it('the built worker loads the prebuilt workflow bundle, bundles nothing, and confirms a STOP', async () => {
  expect(buildOutput).toMatch(/built dist\/ .*workflow-bundle\.js/);
  expect(existsSync(path.join(root, 'dist', 'workflow-bundle.js'))).toBe(true);
  expect(existsSync(path.join(root, 'dist', 'activities', 'postgres', 'migrations', '003_ledger_and_opt_outs.sql'))).toBe(true);
  expect(existsSync(path.join(root, 'dist', 'client', 'http', 'console', 'views', 'layout.eta'))).toBe(true);
  expect(existsSync(path.join(root, 'dist', 'client', 'http', 'console', 'assets', 'console.css'))).toBe(true);
  const worker = startServiceProcess('worker:built', { TEMPORAL_ADDRESS: harness.temporalAddress, DATABASE_URL: harness.databaseUrl, TEMPORAL_TASK_QUEUE: harness.taskQueue });
  processes.push(worker);
  const polling = await worker.waitForLine((line) => line.msg.startsWith('worker polling'), 'the built worker polling', 120_000);
  expect(polling.workflows).toBe(`prebuilt bundle ${path.join(root, 'dist', 'workflow-bundle.js')}`);
  // The SDK logs this line whenever it bundles: the built worker never does.
  expect(worker.output()).not.toContain('Workflow bundle created');

  const [contact, business] = [uniquePhone(), uniquePhone()];
  await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
  await waitFor(() => outboundFor(harness.pool, contact), (rows) => rows.some((row) => row.kind === 'opt_out_confirmation' && row.status === 'sent'), {
    what: 'the STOP confirmed by the built worker',
  });
}, 180_000);

it('the built API starts with node on dist/ and answers, its console included', async () => {
  const port = await freePort();
  const api = startServiceProcess('api:built', { TEMPORAL_ADDRESS: harness.temporalAddress, DATABASE_URL: harness.databaseUrl, TEMPORAL_TASK_QUEUE: harness.taskQueue, PORT: String(port) });
  processes.push(api);
  await api.waitForLine((line) => line.msg.startsWith('API listening'), 'the built API listening', 120_000);
  const response = await fetch(`http://127.0.0.1:${port}/v1/programs`);
  expect(response.status).toBe(200);
  // The console renders from the templates and stylesheet the build copied into dist/.
  const signIn = await fetch(`http://127.0.0.1:${port}/console/sign-in`);
  expect(signIn.status).toBe(200);
  expect(await signIn.text()).toContain('<form');
  const css = await fetch(`http://127.0.0.1:${port}/console/assets/console.css`);
  expect(css.status).toBe(200);
  expect(css.headers.get('content-type')).toContain('text/css');
}, 180_000);
