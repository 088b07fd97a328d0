/**
 * The operator CLI (`npx sms-consent …`): read a contact's state and history, list and export opt-outs, import a
 * suppression list with a progress bar, record an opt-out taken by phone, send a message, and run the processes.
 * Exit codes: 0 done, 1 a dependency failed (Temporal, Postgres), 2 invalid input, 3 a send was refused (failures.ts).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SingleBar, Presets } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'csv-stringify';
import { OPT_OUT_SOURCES, MESSAGE_TYPES } from '../../workflows/domain/schemas';
import type { ServiceConfig } from '../config';
import { InvalidInputError } from '../consent-client';
import { OPT_OUT_CSV_COLUMNS } from '../http/server';
import { edgeSchemas, type EdgeSchemas } from '../schemas';
import { registerCampaignCommand } from './campaign';
import { registerReportCommand } from './report';
import { registerReviewCommands } from './reviews';
import { checkProcessConfig, loadCliConfig } from './configuration';
import { describeFailure, EXIT } from './failures';
import { checkInput, openOutput, readImportFile } from './input';
import { withConsentClient } from './service-connection';

export { EXIT };

const PROJECT_ROOT = path.join(__dirname, '..', '..');

/** The configuration and the shared edge schemas for its DEFAULT_COUNTRY: everything a command checks its input with. */
function prepare(): { config: ServiceConfig; schemas: EdgeSchemas } {
  const config = loadCliConfig();
  return { config, schemas: edgeSchemas(config.env.DEFAULT_COUNTRY) };
}

const print = (value: unknown): void => {
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
};

/** --history is the CLI's own (how many of the entries read to show); the shared schemas have no such field. */
function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return parsed;
}

export function buildProgram(): Command {
  const program = new Command('sms-consent')
    .description('Operate the SMS consent engine: contacts, opt-outs, suppression imports, sends, and its processes.')
    // One line per error, naming the option or argument; the usage is one --help away, not a screenful on stderr.
    .configureOutput({ outputError: (message, write) => write(`${message.trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`) })
    .exitOverride();

  program
    .command('status')
    .description("a contact's consent state and its recent evidence-ledger history")
    .argument('<phone>', 'the contact, in E.164 or national format (DEFAULT_COUNTRY)')
    .option('--history <n>', 'ledger entries to show, newest last', positiveInt, 20)
    .option('--json', 'print the whole state and history as JSON')
    .action(async (phone: string, options: { history: number; json?: boolean }) => {
      const { config, schemas } = prepare();
      checkInput(schemas.phone, phone, 'phone');
      await withConsentClient(config, { temporal: true, postgres: true }, async (consent) => {
        const state = await consent.getContactState(phone);
        const history = await consent.getContactHistory(state.phone, { limit: 1000 });
        const recent = history.entries.slice(-options.history);
        if (options.json) return print({ state, history: recent });
        print(`${state.phone}: ${state.optedOut ? 'OPTED OUT' : 'subscribed'}`);
        if (state.optOut) {
          const { optOut } = state;
          print(`  opted out at ${optOut.at} (source ${optOut.source}${optOut.businessNumber ? `, on ${optOut.businessNumber}` : ''}${optOut.recordedBy ? `, recorded by ${optOut.recordedBy}` : ''})`);
        }
        print(`  consents: ${state.consents.map((c) => `${c.type} for ${c.messageTypes.join('/')} (${c.source}, ${c.grantedAt})`).join('; ') || 'none'}`);
        print(`  conversations: ${state.threads.map((t) => t.businessNumber).join(', ') || 'none'}; review flags: ${state.reviewFlags.length}`);
        print(`  history (${recent.length} of ${history.entries.length}${history.next ? '+' : ''}):`);
        for (const entry of recent) {
          print(`    ${entry.occurredAt}  ${entry.event.padEnd(16)} ${entry.source ?? ''}${entry.businessNumber ? ` via ${entry.businessNumber}` : ''}`);
        }
      });
    });

  program
    .command('opt-outs')
    .description('the opt-out list, filtered; --csv exports every matching entry')
    .addOption(new Option('--source <source>', 'only this source').choices(OPT_OUT_SOURCES))
    .option('--from <date>', 'opted out at or after (2026-11-01 or an ISO timestamp)')
    .option('--to <date>', 'opted out before')
    .option('--limit <n>', 'entries to show (JSON output), at most 1000', '100')
    .option('--csv', 'write CSV (all matching entries) instead of JSON')
    .option('--output <file>', 'write to this file instead of stdout')
    .action(async (options: { source?: string; from?: string; to?: string; limit: string; csv?: boolean; output?: string }) => {
      const { config, schemas } = prepare();
      const { limit } = checkInput(schemas.optOutList, { source: options.source, from: options.from, to: options.to, limit: options.limit });
      const filter = { source: options.source as (typeof OPT_OUT_SOURCES)[number] | undefined, from: options.from, to: options.to };
      const out = options.output ? await openOutput(options.output, 'output') : process.stdout;
      await withConsentClient(config, { temporal: false, postgres: true }, async (consent) => {
        if (options.csv) {
          await pipeline(Readable.from(consent.exportOptOuts(filter)), stringify({ header: true, columns: [...OPT_OUT_CSV_COLUMNS] }), out);
          return;
        }
        const page = await consent.listOptOuts({ ...filter, limit });
        const text = `${JSON.stringify(page, null, 2)}\n`;
        if (out === process.stdout) out.write(text);
        else await new Promise<void>((resolve, reject) => out.end(text, () => resolve()).once('error', reject));
      });
    });

  program
    .command('import')
    .description('import a suppression list: every valid number is opted out (source suppression-import), no SMS is sent')
    .argument('<file.csv>', 'one number a row in E.164; a header row, BOM, CRLF and blank lines are fine')
    .option('--column <name-or-position>', 'the column holding the numbers (header name or 1-based position)')
    .option('--recorded-by <who>', 'who imports the list (kept as evidence)', process.env.USER ?? 'cli')
    .option('--import-id <id>', 'an id of your own: the same id twice is one import')
    .option('--no-wait', 'start the import and return its id without waiting')
    .action(async (file: string, options: { column?: string; recordedBy: string; importId?: string; wait: boolean }) => {
      const { config, schemas } = prepare();
      const importOptions = { column: options.column, recordedBy: options.recordedBy, importId: options.importId, fileName: path.basename(file) };
      checkInput(schemas.suppressionImport, importOptions);
      const content = await readImportFile(file, 'file');
      await withConsentClient(config, { temporal: true, postgres: true }, async (consent) => {
        const started = await consent.importSuppressionList(content, importOptions);
        process.stderr.write(`import ${started.importId} (workflow ${started.workflowId})${started.created ? '' : ': already submitted'}\n`);
        if (!options.wait) return print({ importId: started.importId, workflowId: started.workflowId });
        const bar = new SingleBar(
          { format: 'importing |{bar}| {percentage}% {value}/{total} numbers | opted out {optedOut}, already {already}, invalid {invalid}', hideCursor: true, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 1000 },
          Presets.shades_classic,
        );
        let report = await consent.getSuppressionImport(started.importId, { invalidRowsLimit: 0 });
        bar.start(Math.max(report.progress.valid, 1), 0, { optedOut: 0, already: 0, invalid: 0 });
        while (report.progress.status === 'parsing' || report.progress.status === 'applying') {
          await new Promise((resolve) => setTimeout(resolve, 500));
          report = await consent.getSuppressionImport(started.importId, { invalidRowsLimit: 0 });
          const { valid, optedOut, alreadyOptedOut, invalid } = report.progress;
          bar.setTotal(Math.max(valid, 1));
          bar.update(optedOut + alreadyOptedOut, { optedOut, already: alreadyOptedOut, invalid });
        }
        bar.stop();
        report = await consent.getSuppressionImport(started.importId, { invalidRowsLimit: 50 });
        const { progress } = report;
        print(
          `${progress.status}: ${progress.rowsRead} rows read, ${progress.optedOut} opted out, ${progress.alreadyOptedOut} already opted out, ` +
            `${progress.duplicates} duplicates, ${progress.invalid} invalid`,
        );
        for (const row of report.invalidRows) print(`  line ${row.line}: ${row.reason}`);
        if (report.invalidRowsTotal > report.invalidRows.length) print(`  … and ${report.invalidRowsTotal - report.invalidRows.length} more invalid rows`);
        if (progress.status === 'failed') throw new InvalidInputError([{ field: 'file', message: `could not be imported: ${progress.error}` }]);
      });
    });

  program
    .command('add-opt-out')
    .description('record an opt-out received by another channel (a call, an e-mail); nothing can remove it but START')
    .argument('<phone>', 'the contact')
    .requiredOption('--recorded-by <who>', 'who took the request (kept as evidence)')
    .option('--source <source>', 'how it was received', 'operator-recorded')
    .option('--note <text>', 'what was said, where')
    .option('--reference <id>', 'a call id, a ticket, an e-mail reference')
    .option('--business-number <phone>', 'the business number concerned, if any')
    .action(async (phone: string, options: { recordedBy: string; source: string; note?: string; reference?: string; businessNumber?: string }) => {
      const { config, schemas } = prepare();
      if (options.source !== 'operator-recorded') {
        throw new InvalidInputError([{ field: 'source', message: 'an operator records opt-outs as operator-recorded; imports and carriers have their own paths' }]);
      }
      const optOut = { phone, recordedBy: options.recordedBy, note: options.note ?? null, reference: options.reference ?? null, businessNumber: options.businessNumber ?? null };
      checkInput(schemas.addOptOut, optOut);
      await withConsentClient(config, { temporal: true, postgres: false }, async (consent) => {
        const recorded = await consent.addOptOut(optOut);
        print({ ...recorded, source: 'operator-recorded' });
      });
    });

  program
    .command('send')
    .description('send one message if consent covers it (exit 3 when refused, with the reason)')
    .requiredOption('--to <phone>', 'the contact')
    .requiredOption('--from <phone>', 'the business number')
    .requiredOption('--body <text>', 'the message')
    .addOption(new Option('--type <type>', 'the kind of message').choices(MESSAGE_TYPES).makeOptionMandatory())
    .option('--program <id>', 'the declared program it belongs to')
    .option('--append-disclosures', "complete a first message with the program's disclosures")
    .option('--idempotency-key <key>', 'the same key twice sends once')
    .action(async (options: { to: string; from: string; body: string; type: (typeof MESSAGE_TYPES)[number]; program?: string; appendDisclosures?: boolean; idempotencyKey?: string }) => {
      const { config, schemas } = prepare();
      const message = { ...options, program: options.program ?? null, appendDisclosures: options.appendDisclosures ?? false };
      checkInput(schemas.sendMessage, message);
      // Postgres too: the program is looked up there, and a refusal for want of a decision is recorded in the ledger.
      await withConsentClient(config, { temporal: true, postgres: true }, async (consent) => {
        const answer = await consent.sendMessage(message);
        print(answer);
        if (answer.status === 'refused') process.exitCode = EXIT.refused;
        if (answer.status === 'failed') process.exitCode = EXIT.failed;
        if (answer.status === 'unknown') process.exitCode = EXIT.unknown;
      });
    });

  registerCampaignCommand(program);
  registerReportCommand(program);
  registerReviewCommands(program, prepare, print);

  const processes = [
    ['worker', 'run a worker (TEMPORAL_ADDRESS, DATABASE_URL); run more for more throughput', 'worker/main.ts', 'worker'],
    ['serve', 'run the HTTP API (TEMPORAL_ADDRESS, DATABASE_URL)', 'client/http/main.ts', 'API'],
    ['dev', 'the whole service on embedded defaults: Temporal dev server, Postgres, worker and API (what npm start runs)', 'dev/start.ts', 'dev'],
  ] as const;
  for (const [name, description, entry, role] of processes) {
    program
      .command(name)
      .description(description)
      .action(async () => {
        // The process would refuse this configuration too, but in its own words: here it is one line and exit 2.
        await checkProcessConfig(loadCliConfig(), role);
        process.exitCode = await runEntryPoint(entry);
      });
  }

  return program;
}

/** Runs one of the service's entry points as a child process (same as its npm script), passing signals on. */
async function runEntryPoint(entry: string): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, entry)], { stdio: 'inherit', cwd: process.cwd() });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : EXIT.failed);
}

/** Runs the CLI on these arguments and exits with its code (bin.cjs and `npm run cli` call this). */
export function runCli(argv: string[] = process.argv): void {
  let command: Command | undefined;
  const fail = (error: unknown) => {
    const { code, line } = describeFailure(error, command);
    if (line) process.stderr.write(`${line}\n`);
    process.exit(code);
  };
  // Whatever escapes a command (an unhandled stream error) is one line too, never Node's stack trace.
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  buildProgram()
    .hook('preAction', (_program, actionCommand) => {
      command = actionCommand;
    })
    .parseAsync(argv)
    .catch(fail);
}

if (require.main === module) runCli();
