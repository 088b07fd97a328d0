import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { suppressionImportWorkflowId } from '../../workflows/domain/suppression-import';
import { suppressionImportProgressQuery } from '../../workflows/messages';
import { startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import { killWorkerProcess, spawnWorkerProcess } from '../support/spawn-worker';

let harness: Harness;
const children: ChildProcess[] = [];
beforeAll(async () => {
  harness = await startHarness({ worker: false });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await harness?.stop();
});

function distinctPhones(count: number): string[] {
  const phones = new Set<string>();
  while (phones.size < count) phones.add(uniquePhone());
  return [...phones];
}

it('an import whose worker is killed mid-batch completes on a new worker with exact counts, nothing doubled', async () => {
  const phones = distinctPhones(800);
  const csv = `phone\n${phones.join('\n')}\nnot-a-number\n${phones[0]}\n`;
  const { importId } = await harness.consent.importSuppressionList(csv, { recordedBy: 'ops' });
  const handle = harness.client.workflow.getHandle(suppressionImportWorkflowId(importId));

  const first = await spawnWorkerProcess(harness);
  children.push(first);
  // Kill it once the first batch (500 rows) is done and the second is part-way through.
  await waitFor(
    async () => (await harness.pool.query(`SELECT count(*)::int AS n FROM suppression_import_rows WHERE import_id = $1 AND outcome = 'opted_out'`, [importId])).rows[0].n as number,
    (applied) => applied >= 500,
    { timeoutMs: 120_000, intervalMs: 20, what: 'the first batch to be applied' },
  );
  const atKill = await handle.query(suppressionImportProgressQuery);
  await killWorkerProcess(first);
  expect(atKill.status).toBe('applying');
  expect(atKill.appliedThroughLine).toBeLessThan(phones.length + 1);

  children.push(await spawnWorkerProcess(harness));
  const progress = await waitFor(() => handle.query(suppressionImportProgressQuery), (p) => p.status === 'completed', {
    timeoutMs: 180_000,
    intervalMs: 500,
    what: 'the import to complete on the new worker',
  });
  expect(progress).toMatchObject({ rowsRead: 802, valid: 800, duplicates: 1, invalid: 1, optedOut: 800, alreadyOptedOut: 0 });

  const optOuts = await waitFor(
    async () => (await harness.pool.query(`SELECT count(*)::int AS n FROM opt_outs WHERE phone = ANY($1) AND reference = $2`, [phones, importId])).rows[0].n as number,
    (n) => n === 800,
    { timeoutMs: 60_000, what: 'every number on the opt-out list' },
  );
  expect(optOuts).toBe(800);
  const ledger = await harness.pool.query(
    `SELECT count(*)::int AS entries, count(DISTINCT contact)::int AS contacts FROM consent_ledger WHERE contact = ANY($1) AND event = 'opt_out'`,
    [phones],
  );
  expect(ledger.rows[0]).toEqual({ entries: 800, contacts: 800 });
}, 360_000);
