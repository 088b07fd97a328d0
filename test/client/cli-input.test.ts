/**
 * The CLI's input discipline, as the API's: bad arguments and bad configuration exit 2 with one line naming the
 * field (option, argument or environment variable) and why; a dependency that is down exits 1 naming it; never a
 * stack trace. Most cases run with Temporal and Postgres unreachable, so an exit 2 also shows nothing was connected.
 * One CLI process at a time: the machine's two cores are shared with the rest of the suite.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeSchemas } from '../../client/schemas';
import { startHarness, uniquePhone, type Harness } from '../support/harness';

const run = promisify(execFile);
const BIN = path.join(__dirname, '..', '..', 'client', 'cli', 'bin.cjs');
/** Nothing listens on port 1: Postgres refuses at once, Temporal after its 10 s connect deadline. */
const UNREACHABLE = { TEMPORAL_ADDRESS: '127.0.0.1:1', DATABASE_URL: 'postgres://ops:s3cret@127.0.0.1:1/consent' };
const STACK_LINE = /^\s+at /m;

let harness: Harness;
let scratch: string;
let socketServer: net.Server;
const files = { nul: '', binary: '', socket: '', unclosedQuote: '', list: '' };

beforeAll(async () => {
  harness = await startHarness();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'sms-consent-cli-input-'));
  files.nul = path.join(scratch, 'nul.csv');
  await writeFile(files.nul, 'phone\n+14155552671\0\n');
  files.binary = path.join(scratch, 'list.png');
  await writeFile(files.binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe, 0x00, 0x0d]));
  files.unclosedQuote = path.join(scratch, 'quote.csv');
  await writeFile(files.unclosedQuote, 'phone\n"+14155552671\n');
  files.list = path.join(scratch, 'list.csv');
  await writeFile(files.list, `mobile\n${uniquePhone()}\n`);
  // A path that exists but cannot be opened, even by root: a Unix socket.
  files.socket = path.join(scratch, 'list.sock');
  socketServer = net.createServer();
  await new Promise<void>((resolve) => socketServer.listen(files.socket, resolve));
  await mkdir(path.join(scratch, 'a-directory.csv'));
});
afterAll(async () => {
  socketServer?.close();
  await harness?.stop();
});

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI in its own process; `env` on top of an environment that points at nothing running, unless `live`. */
async function cli(args: string[], { env = {}, live = false }: { env?: Record<string, string>; live?: boolean } = {}): Promise<Outcome> {
  const endpoints = live ? { TEMPORAL_ADDRESS: harness.temporalAddress, DATABASE_URL: harness.databaseUrl } : UNREACHABLE;
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...endpoints, TEMPORAL_TASK_QUEUE: harness.taskQueue, DATA_DIR: scratch, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as Outcome;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Exit 2, one line on stderr naming the field and why, no stack trace. */
function expectRefused(outcome: Outcome, names: RegExp | string): void {
  expect(outcome.code, outcome.stderr).toBe(2);
  expect(outcome.stderr).not.toMatch(STACK_LINE);
  expect(outcome.stderr.trimEnd().split('\n'), outcome.stderr).toHaveLength(1);
  if (typeof names === 'string') expect(outcome.stderr).toContain(names);
  else expect(outcome.stderr).toMatch(names);
}

/** What the shared schema (client/schemas.ts) says of this opt-out filter: the CLI must say the same. */
function optOutListReason(query: Record<string, string>): string | undefined {
  const parsed = edgeSchemas('US').optOutList.safeParse(query);
  return parsed.success ? undefined : parsed.error.issues[0]?.message;
}

const LONG_BODY = 'x'.repeat(1601);
const PHONE = '+14155552671';

describe('sms-consent bad arguments exit 2 naming the field, before connecting to anything', () => {
  it.each<[string, string[], RegExp | string]>([
    ['status: a phone that is not a number', ['status', 'not-a-phone'], '<phone>: "not-a-phone" is not a phone number'],
    ['status: a number too short to be one', ['status', '+1415'], /<phone>: "\+1415" is not a/],
    ['status: the phone is missing', ['status'], "missing required argument 'phone'"],
    ['status: --history 0', ['status', PHONE, '--history', '0'], /option '--history <n>' argument '0' is invalid\. must be a whole number/],
    ['status: --history abc', ['status', PHONE, '--history', 'abc'], "option '--history <n>' argument 'abc' is invalid"],
    ['status: two phones', ['status', PHONE, PHONE], "too many arguments for 'status'"],
    ['status: an unknown option', ['status', PHONE, '--wat'], "unknown option '--wat'"],
    ['an unknown command', ['statu', PHONE], "unknown command 'statu'"],
    ['opt-outs: --source that is not a source', ['opt-outs', '--source', 'sms'], "option '--source <source>' argument 'sms' is invalid"],
    ['opt-outs: --limit 0', ['opt-outs', '--limit', '0'], /--limit: .*1/],
    ['opt-outs: --limit -1', ['opt-outs', '--limit', '-1'], /--limit: .*1/],
    ['opt-outs: --limit abc', ['opt-outs', '--limit', 'abc'], /--limit: .*number/],
    ['opt-outs: --limit above the page size', ['opt-outs', '--limit', '1001'], /--limit: .*1000/],
    ['opt-outs: --output in a directory that does not exist', ['opt-outs', '--output', '/nonexistent-dir/out.json'], /--output: cannot write \/nonexistent-dir\/out\.json: its directory does not exist/],
    ['opt-outs: --output that is a directory', ['opt-outs', '--output', os.tmpdir()], /--output: cannot write .*: is a directory/],
    ['import: the file is missing', ['import'], "missing required argument 'file.csv'"],
    ['import: no such file', ['import', '/nonexistent-dir/list.csv'], '<file.csv>: cannot read /nonexistent-dir/list.csv: no such file (ENOENT)'],
    ['import: a directory instead of a file', ['import', os.tmpdir()], /<file\.csv>: .* is a directory, not a file/],
    ['import: --import-id with a space', ['import', os.devNull, '--import-id', 'my import'], /--import-id: must be letters, digits/],
    ['import: --recorded-by empty', ['import', os.devNull, '--recorded-by', ' '], '--recorded-by: must say who imports the list'],
    ['import: --column empty', ['import', os.devNull, '--column', ''], /--column: /],
    ['add-opt-out: --recorded-by missing', ['add-opt-out', PHONE], "required option '--recorded-by <who>' not specified"],
    ['add-opt-out: a phone that is not a number', ['add-opt-out', '555-CALL-NOW', '--recorded-by', 'ops'], '<phone>: "555-CALL-NOW" is not'],
    ['add-opt-out: --business-number that is not a number', ['add-opt-out', PHONE, '--recorded-by', 'ops', '--business-number', 'main'], '--business-number: "main" is not a phone number'],
    ['add-opt-out: --source other than operator-recorded', ['add-opt-out', PHONE, '--recorded-by', 'ops', '--source', 'carrier'], '--source: an operator records opt-outs as operator-recorded'],
    ['add-opt-out: --note over 1000 characters', ['add-opt-out', PHONE, '--recorded-by', 'ops', '--note', 'n'.repeat(1001)], /--note: .*1000/],
    ['send: --type missing', ['send', '--to', PHONE, '--from', PHONE, '--body', 'hi'], "required option '--type <type>' not specified"],
    ['send: --type that is not a message type', ['send', '--to', PHONE, '--from', PHONE, '--body', 'hi', '--type', 'marketing'], "option '--type <type>' argument 'marketing' is invalid"],
    ['send: --to that is not a number', ['send', '--to', 'x', '--from', PHONE, '--body', 'hi', '--type', 'transactional'], '--to: "x" is not a phone number'],
    ['send: --from that is not a number', ['send', '--to', PHONE, '--from', 'ACME', '--body', 'hi', '--type', 'transactional'], '--from: "ACME" is not a phone number'],
    ['send: --body empty', ['send', '--to', PHONE, '--from', PHONE, '--body', '', '--type', 'transactional'], '--body: must not be empty'],
    ['send: --body over the limit', ['send', '--to', PHONE, '--from', PHONE, '--body', LONG_BODY, '--type', 'transactional'], '--body: must be at most 1600 characters'],
    ['send: --program that is not an id', ['send', '--to', PHONE, '--from', PHONE, '--body', 'hi', '--type', 'promotional', '--program', 'spring sale!'], '--program: must be letters, digits'],
    ['send: several bad fields name each', ['send', '--to', 'x', '--from', 'y', '--body', '', '--type', 'transactional'], /--to: .*; --from: .*; --body: must not be empty/],
    ['worker: an argument', ['worker', 'now'], "too many arguments for 'worker'"],
    ['serve: an unknown option', ['serve', '--port', '80'], "unknown option '--port'"],
  ])('%s', async (_case, args, names) => {
    expectRefused(await cli(args), names);
  });

  it.each([
    ['not a date', 'soon'],
    ['year 0000', '0000-01-01'],
    ['a UTC offset of +23:00', '2026-01-01T00:00:00+23:00'],
    ['a day that does not exist', '2026-02-30'],
  ])('opt-outs --from %s exits 2 with the shared schema\'s reason', async (_case, date) => {
    const reason = optOutListReason({ from: date });
    expect(reason, `client/schemas.ts accepts --from ${date}`).toBeDefined();
    expectRefused(await cli(['opt-outs', '--from', date]), `--from: ${reason}`);
  });

  it('opt-outs --to is named as --to', async () => {
    expectRefused(await cli(['opt-outs', '--from', '2026-01-01', '--to', '2026-13-01']), `--to: ${optOutListReason({ to: '2026-13-01' })}`);
  });
});

describe('sms-consent import refuses a file it cannot read as a CSV text, naming <file.csv>', () => {
  it('a file with a NUL byte', async () => {
    expectRefused(await cli(['import', files.nul]), /<file\.csv>: .*nul\.csv is not UTF-8 text: it has a NUL byte \(line 2\)/);
  });

  it('a binary file (not UTF-8)', async () => {
    expectRefused(await cli(['import', files.binary]), /<file\.csv>: .*list\.png is not UTF-8 text \(a binary file/);
  });

  it('a path that cannot be opened (a socket)', async () => {
    expectRefused(await cli(['import', files.socket]), /<file\.csv>: cannot read .*list\.sock: cannot be opened .*\(ENXIO\)/);
  });

  it('a file that is not CSV (an unclosed quote), checked by the import itself', async () => {
    expectRefused(await cli(['import', files.unclosedQuote, '--recorded-by', 'ops'], { live: true }), /<file\.csv>: the file is not readable as CSV: Quote Not Closed/);
  });

  it('--column that is not in the header row', async () => {
    expectRefused(await cli(['import', files.list, '--column', 'phone', '--recorded-by', 'ops'], { live: true }), '--column: "phone" is not in the header row ("mobile")');
  });
});

describe('sms-consent bad configuration exits 2 naming the variable', () => {
  it.each<[string, Record<string, string>, string[], RegExp | string]>([
    ['DEFAULT_COUNTRY that is no country', { DEFAULT_COUNTRY: 'ZZ' }, ['status', '4155552671'], 'invalid configuration: DEFAULT_COUNTRY: "ZZ" is not a country code'],
    ['DEFAULT_COUNTRY of three letters', { DEFAULT_COUNTRY: 'USA' }, ['status', '4155552671'], /invalid configuration: DEFAULT_COUNTRY: .*2/],
    ['TEMPORAL_ADDRESS with a scheme', { TEMPORAL_ADDRESS: 'http://temporal:7233' }, ['add-opt-out', PHONE, '--recorded-by', 'ops'], /TEMPORAL_ADDRESS: Invalid address for Temporal gRPC endpoint/],
    ['TEMPORAL_ADDRESS with no host', { TEMPORAL_ADDRESS: ':7233' }, ['status', PHONE], /TEMPORAL_ADDRESS: Invalid address/],
    ['DATABASE_URL that is not a URL', { DATABASE_URL: 'consent-db' }, ['opt-outs'], 'DATABASE_URL: must be a postgres:// URL'],
    ['DATABASE_URL with a port that is not a number', { DATABASE_URL: 'postgres://ops:s3cret@db:port/consent' }, ['opt-outs'], 'DATABASE_URL: must be a postgres:// URL'],
    ['DATABASE_URL not set and no npm start running', { DATABASE_URL: '' }, ['opt-outs'], /DATABASE_URL: is not set and no running `npm start` was found/],
    ['LOG_LEVEL and PORT both wrong, each named', { LOG_LEVEL: 'loud', PORT: 'eighty' }, ['status', PHONE], /PORT: .*; LOG_LEVEL: /],
    ['SEND_DECISION_TIMEOUT_MS not a number', { SEND_DECISION_TIMEOUT_MS: 'soon' }, ['send', '--to', PHONE, '--from', PHONE, '--body', 'hi', '--type', 'transactional'], 'SEND_DECISION_TIMEOUT_MS: '],
    ['TEMPORAL_TLS_CA_PATH that does not exist', { TEMPORAL_TLS_CA_PATH: '/nonexistent-dir/ca.pem' }, ['status', PHONE], 'TEMPORAL_TLS_CA_PATH: cannot read /nonexistent-dir/ca.pem (ENOENT)'],
    ['worker with no DATABASE_URL', { DATABASE_URL: '' }, ['worker'], 'DATABASE_URL: is required to run the worker on its own'],
    ['serve with a malformed TEMPORAL_ADDRESS', { TEMPORAL_ADDRESS: 'temporal:port' }, ['serve'], /TEMPORAL_ADDRESS: Invalid address/],
    ['dev with DEFAULT_COUNTRY=ZZ', { DEFAULT_COUNTRY: 'ZZ' }, ['dev'], 'DEFAULT_COUNTRY: "ZZ" is not a country code'],
  ])('%s', async (_case, env, args, names) => {
    const outcome = await cli(args, { env });
    expectRefused(outcome, names);
    expect(outcome.stderr, 'the database password is never printed').not.toContain('s3cret');
  });
});

describe('sms-consent with a dependency down exits 1 in one line naming it', () => {
  it('Postgres refusing connections', async () => {
    const outcome = await cli(['opt-outs', '--from', '2026-01-01']);
    expect(outcome.code, outcome.stderr).toBe(1);
    expect(outcome.stderr).toMatch(/^error: Postgres: cannot connect to 127\.0\.0\.1:1\/consent: connect ECONNREFUSED/);
    expect(outcome.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(outcome.stderr).not.toMatch(STACK_LINE);
    expect(outcome.stderr).not.toContain('s3cret');
  });

  it('Temporal not answering', async () => {
    const outcome = await cli(['add-opt-out', PHONE, '--recorded-by', 'ops']);
    expect(outcome.code, outcome.stderr).toBe(1);
    expect(outcome.stderr).toMatch(/^error: Temporal: cannot connect to 127\.0\.0\.1:1 \(plaintext\): /);
    expect(outcome.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(outcome.stderr).not.toMatch(STACK_LINE);
  }, 90_000);
});

describe('sms-consent with the service running', () => {
  it('good filters pass the same schema and list the opt-outs', async () => {
    const outcome = await cli(['opt-outs', '--from', '2026-01-01', '--to', '2026-01-02T00:00:00+02:00', '--limit', '5'], { live: true });
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(JSON.parse(outcome.stdout)).toMatchObject({ optOuts: expect.any(Array) });
  });

  it('send --program that is not declared exits 2 naming --program', async () => {
    const outcome = await cli(['send', '--to', uniquePhone(), '--from', uniquePhone(), '--body', 'Sale!', '--type', 'promotional', '--program', 'never-declared'], { live: true });
    expectRefused(outcome, '--program: program "never-declared" is not declared');
  });
});
