import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

const run = promisify(execFile);
const BIN = path.join(__dirname, '..', '..', 'client', 'cli', 'bin.cjs');

let harness: Harness;
let scratch: string;
beforeAll(async () => {
  harness = await startHarness();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'sms-consent-cli-'));
});
afterAll(async () => {
  await harness?.stop();
});

/** The CLI as an operator runs it, in its own process, against the test's running service. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: harness.temporalAddress,
        DATABASE_URL: harness.databaseUrl,
        TEMPORAL_TASK_QUEUE: harness.taskQueue,
        DATA_DIR: scratch,
      },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('sms-consent CLI', () => {
  it('import <file.csv> opts out every valid number, shows progress and reports invalid lines', async () => {
    const [a, b, c] = [uniquePhone(), uniquePhone(), uniquePhone()];
    const file = path.join(scratch, 'list.csv');
    await writeFile(file, `id,mobile\r\n1,${a}\r\n2,${b}\r\n3,oops\r\n\r\n4,${c}\r\n5,${a}\r\n`);
    const result = await cli('import', file, '--column', 'mobile', '--recorded-by', 'ops@acme.example');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/importing \|/);
    expect(result.stdout).toContain('completed: 5 rows read, 3 opted out, 0 already opted out, 1 duplicates, 1 invalid');
    expect(result.stdout).toMatch(/line 4: "oops" is not in E\.164/);
    for (const phone of [a, b, c]) {
      expect(await harness.consent.canSend(phone, { from: uniquePhone(), type: 'conversational' })).toMatchObject({ code: 'OPTED_OUT' });
    }
  });

  it('status <phone> shows the opt-out and its history from the ledger', async () => {
    const contact = uniquePhone();
    const business = uniquePhone();
    await harness.consent.handleInbound(inboundText(contact, business, 'STOP'));
    await waitFor(() => harness.consent.getContactHistory(contact), (h) => h.entries.some((e) => e.event === 'reply_sent'));
    const result = await cli('status', contact);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`${contact}: OPTED OUT`);
    expect(result.stdout).toContain(`source keyword, on ${business}`);
    expect(result.stdout).toMatch(/opt_out\s+keyword via/);
    expect(result.stdout).toMatch(/reply_sent\s+opt_out_confirmation/);
  });

  it('add-opt-out records who took it; opt-outs --csv lists it', async () => {
    const contact = uniquePhone();
    const added = await cli('add-opt-out', contact, '--recorded-by', 'agent@acme.example', '--note', 'called to stop');
    expect(added.code, added.stderr).toBe(0);
    await waitFor(() => harness.pool.query('SELECT 1 FROM opt_outs WHERE phone = $1', [contact]), (r) => r.rowCount === 1);
    const listed = await cli('opt-outs', '--csv', '--source', 'operator-recorded');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')[0]).toBe('phone,optedOutAt,businessNumber,source,recordedBy,reference,note');
    expect(listed.stdout).toMatch(new RegExp(`\\${contact},[^,]+,,operator-recorded,agent@acme.example,,called to stop`));
  });

  it('a refused send exits 3 with the reason', async () => {
    const refused = await cli('send', '--to', uniquePhone(), '--from', uniquePhone(), '--body', 'Sale!', '--type', 'promotional');
    expect(refused.code).toBe(3);
    expect(JSON.parse(refused.stdout)).toMatchObject({ status: 'refused', code: 'NO_CONSENT' });
  });

  // Every command's bad input, case by case: cli-input.test.ts.
  it('bad input exits 2 naming the field', async () => {
    const badPhone = await cli('status', 'not-a-phone');
    expect(badPhone.code).toBe(2);
    expect(badPhone.stderr).toMatch(/<phone>: "not-a-phone" is not a phone number/);

    const missing = await cli('add-opt-out', uniquePhone());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option '--recorded-by <who>' not specified/);

    const noFile = await cli('import', path.join(scratch, 'nope.csv'));
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/<file\.csv>: cannot read .*nope\.csv: no such file \(ENOENT\)/);
  });

  it('--help exits 0, also through the package bin with npx', async () => {
    const help = await cli('status', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: sms-consent status/);

    // As the README says to run it: through the package's bin, with npx.
    const viaNpx = await run('npx', ['--no-install', 'sms-consent', 'import', '--help'], { cwd: path.join(__dirname, '..', '..'), timeout: 60_000 });
    expect(viaNpx.stdout).toMatch(/Usage: sms-consent import \[options\] <file.csv>/);
  });
});
