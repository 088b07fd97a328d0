/**
 * The README's `temporal` commands for operators, run as written with the Temporal CLI binary against the dev server:
 * what an operator copies from the README has to work, and a malformed opt-out has to fail to them, naming the field.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { resolveTemporalCli } from '../../dev/temporal-cli';
import { inboundText, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';

const run = promisify(execFile);

/** The README's example contact: every command in its block names this actor. */
const README_CONTACT = '+14152345678';

/** The sh block of the README that holds the operator commands, one command per entry (continuation lines joined). */
function readmeOperatorCommands(): string[] {
  const readme = readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!).find((text) => text.includes(`contact:${README_CONTACT}`));
  if (block === undefined) throw new Error(`README.md has no sh block with the commands for contact:${README_CONTACT}`);
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('temporal '));
}

let harness: Harness;
let temporal: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  harness = await startHarness();
  const cli = await resolveTemporalCli();
  if (!cli) throw new Error('no Temporal CLI: npm run temporal:build builds it');
  temporal = cli;
  // As an operator runs them: `temporal` on PATH, pointed at the cluster by TEMPORAL_ADDRESS.
  env = { ...process.env, PATH: `${path.dirname(temporal)}:${process.env.PATH}`, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: harness.namespace };
  // The README's contact exists, as it would for an operator looking it up: it texted the business once.
  await harness.consent.handleInbound(inboundText(README_CONTACT, uniquePhone(), 'Hello'));
  await waitFor(() => harness.consent.getContactState(README_CONTACT), (state) => state.counts.inbound >= 1, { what: 'the README contact' });
});
afterAll(async () => {
  await harness?.stop();
});

const shell = (command: string) => run('bash', ['-c', command], { env, timeout: 60_000 });

describe("the README's operator commands", () => {
  it('are the four commands the README shows: two queries, a list and the opt-out update', () => {
    expect(readmeOperatorCommands().map((command) => command.split(' --')[0])).toEqual([
      'temporal workflow query',
      'temporal workflow query',
      'temporal workflow list',
      'temporal workflow update execute',
    ]);
  });

  it('run as written: the queries read the actor, and the opt-out update answers once it is in force and listed', async () => {
    const [stateQuery, canSendQuery, list, optOutUpdate] = readmeOperatorCommands() as [string, string, string, string];
    expect((await shell(stateQuery)).stdout).toContain(README_CONTACT);
    expect((await shell(canSendQuery)).stdout).toMatch(/"allowed":\s*(true|false)/);
    await shell(list);

    const updated = await shell(optOutUpdate);
    // The CLI prints the update's result as text: `Result  map[listed:true optOut:map[...] outcome:opted_out]`.
    expect(updated.stdout).toMatch(/outcome:(opted_out|already_opted_out)\b/);
    expect(updated.stdout).toMatch(/listed:true\b/);
    // In force when it answered: no waiting.
    expect(await harness.consent.getContactState(README_CONTACT)).toMatchObject({ optedOut: true });
    const listed = await harness.pool.query('SELECT source FROM opt_outs WHERE phone = $1', [README_CONTACT]);
    expect(listed.rows).toEqual([{ source: 'operator-recorded' }]);
    // And the README's list of opted-out contacts finds it (visibility catches up within a second or two).
    await waitFor(() => shell(list).then((result) => result.stdout), (stdout) => stdout.includes(`contact:${README_CONTACT}`), { what: 'the contact in the OptedOut list' });
  });

  it('a malformed opt-out fails to the operator naming the field and why, and records nothing', async () => {
    const contact = uniquePhone();
    await harness.consent.handleInbound(inboundText(contact, uniquePhone(), 'Hello'));
    await waitFor(() => harness.consent.getContactState(contact), (state) => state.counts.inbound >= 1, { what: 'the contact' });
    const optOutUpdate = readmeOperatorCommands()[3]!.replace(README_CONTACT, contact).replace('"at":"2026-11-27T10:00:00Z"', '"at":"yesterday"');
    const failure = await shell(optOutUpdate).then(
      () => undefined,
      (error: { code: number; stderr: string; stdout: string }) => error,
    );
    expect(failure, 'the update must fail').toBeDefined();
    expect(failure!.code).not.toBe(0);
    expect(`${failure!.stderr}${failure!.stdout}`).toContain('invalid opt-out: at:');
    expect(await harness.consent.getContactState(contact)).toMatchObject({ optedOut: false, counts: expect.objectContaining({ optOuts: 0 }) });
  });
});
