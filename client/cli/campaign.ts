/**
 * `sms-consent campaign …`: create a campaign from a CSV or JSON file and watch it with a progress bar, read its
 * counts, pause, resume or cancel it, and list or export its recipients' outcomes. Input is checked by the shared
 * campaign schemas before anything is connected; a bad argument exits 2 naming the option.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from '@temporalio/client';
import { Presets, SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import { stringify } from 'csv-stringify';
import { createPool } from '../../activities/postgres/pool';
import { CAMPAIGN_FINAL_STATUSES, QUIET_HOURS_CHOICES, RECIPIENT_STATUSES, type CampaignCounts, type CampaignStatus } from '../../workflows/domain/campaign';
import { MESSAGE_TYPES } from '../../workflows/domain/schemas';
import { CAMPAIGN_RECIPIENT_CSV_COLUMNS, CampaignClient, campaignEdgeSchemas, CampaignStateError, type CampaignCreated } from '../campaigns';
import type { ServiceConfig } from '../config';
import { InvalidInputError } from '../consent-client';
import { describeTemporalConnection } from '../temporal-connection';
import { cliEndpoints, lazyTemporalConnection, loadCliConfig } from './configuration';
import { DependencyError, errorMessage } from './failures';
import { checkInput, openOutput, readImportFile } from './input';

const print = (value: unknown): void => {
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
};

/** One Temporal connection and one pool per command run, each reached first so one that is down is named (exit 1). */
async function withCampaignClient<T>(config: ServiceConfig, run: (campaigns: CampaignClient) => Promise<T>): Promise<T> {
  const { env } = config;
  const { temporal, databaseUrl, sources } = await cliEndpoints(config);
  const connection = lazyTemporalConnection(temporal, sources.temporalAddress);
  const pool = createPool(databaseUrl, 2);
  try {
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      throw new DependencyError('Postgres', `cannot connect: ${errorMessage(error)}`, { cause: error });
    }
    try {
      await connection.ensureConnected();
    } catch (error) {
      throw new DependencyError('Temporal', `cannot connect to ${describeTemporalConnection(temporal)}: ${errorMessage(error)}`, { cause: error });
    }
    const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
    return await run(new CampaignClient({ client, taskQueue: env.TEMPORAL_TASK_QUEUE, pool, defaultCountry: env.DEFAULT_COUNTRY }));
  } catch (error) {
    // A campaign that cannot do that now (pause a completed one) is the operator's input, not a failure.
    if (error instanceof CampaignStateError) throw new InvalidInputError([{ field: 'campaignId', message: error.message }]);
    throw error;
  } finally {
    await Promise.race([Promise.allSettled([connection.close(), pool.end()]), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }
}

function describeCounts(status: CampaignStatus, counts: CampaignCounts, heldUntil: string | null): string {
  const refused = Object.entries(counts.refusedByCode).map(([code, n]) => `${code} ${n}`).join(', ');
  return (
    `${status}: ${counts.total} recipients, ${counts.sent} sent, ${counts.refused} refused${refused ? ` (${refused})` : ''}, ${counts.failed} failed, ` +
    `${counts.unknown} unknown, ${counts.pending} pending, ${counts.held} held${heldUntil ? ` for quiet hours until ${heldUntil}` : ''}, ` +
    `${counts.cancelled} cancelled, ${counts.invalid} invalid`
  );
}

/** A JSON campaign file: the whole POST /v1/campaigns body, or just its `recipients` list. */
async function readJsonFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    if ((await stat(file)).isDirectory()) throw new Error('is a directory, not a file');
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidInputError([{ field: 'json', message: `cannot read ${file}: ${errorMessage(error)}` }]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError([{ field: 'json', message: `${file} is not JSON: ${errorMessage(error)}` }]);
  }
  if (Array.isArray(parsed)) return { recipients: parsed };
  if (parsed === null || typeof parsed !== 'object') throw new InvalidInputError([{ field: 'json', message: `${file} must hold an object { recipients, … } or a list of recipients` }]);
  return parsed as Record<string, unknown>;
}

async function watch(campaigns: CampaignClient, started: CampaignCreated): Promise<void> {
  const bar = new SingleBar(
    {
      format: 'sending |{bar}| {percentage}% {value}/{total} recipients | sent {sent}, refused {refused}, failed {failed}, unknown {unknown}, held {held} | {status}',
      hideCursor: true,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 1000,
    },
    Presets.shades_classic,
  );
  const sendable = (counts: CampaignCounts) => Math.max(counts.total - counts.invalid, 1);
  // A held recipient is not decided yet: it goes (or is refused) when its quiet hours end.
  const decided = (counts: CampaignCounts) => counts.total - counts.invalid - counts.pending - counts.held;
  let report = await campaigns.getCampaign(started.campaignId);
  const values = () => {
    const { counts, status } = report;
    return { sent: counts.sent, refused: counts.refused, failed: counts.failed, unknown: counts.unknown, held: counts.held, status };
  };
  bar.start(sendable(report.counts), decided(report.counts), values());
  while (!CAMPAIGN_FINAL_STATUSES.includes(report.status)) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    report = await campaigns.getCampaign(started.campaignId);
    bar.update(decided(report.counts), values());
  }
  bar.stop();
  print(describeCounts(report.status, report.counts, report.heldUntil));
}

export function registerCampaignCommand(program: Command): void {
  const campaign = program.command('campaign').description('one message to many recipients, each sent only if consent covers it: create, watch, pause, resume, cancel');

  campaign
    .command('create')
    .description('start a campaign from a CSV file (a `to` column, then a column per {{variable}}) or a JSON file, and show its progress')
    .option('--csv <file>', 'CSV with a header row: to (or phone), then one column per variable')
    .option('--json <file>', 'JSON: the POST /v1/campaigns body, or a list of { to, variables }')
    .option('--from <phones>', 'business number(s), comma-separated: recipients are spread over them round-robin')
    .addOption(new Option('--type <type>', 'the kind of message').choices(MESSAGE_TYPES))
    .option('--body <text>', 'the text, with {{name}} for each recipient variable')
    .option('--program <id>', 'the declared program it belongs to')
    .option('--append-disclosures', "complete a first message with the program's disclosures")
    .option('--rate-per-second <n>', 'messages per second per business number (10DLC, toll-free and short codes differ)')
    .option('--start-at <iso>', 'start sending at this time (ISO 8601)')
    .addOption(new Option('--on-quiet-hours <choice>', "a promotional recipient in its local quiet hours: hold it until the window opens, or refuse it").choices(QUIET_HOURS_CHOICES))
    .option('--campaign-id <id>', 'an id of your own: the same id twice is one campaign')
    .option('--column <name>', 'the CSV column holding the numbers (default to or phone)')
    .option('--no-wait', 'start it and print its id without waiting')
    .action(async (options: { csv?: string; json?: string; from?: string; type?: string; body?: string; program?: string; appendDisclosures?: boolean; ratePerSecond?: string; startAt?: string; onQuietHours?: string; campaignId?: string; column?: string; wait: boolean }) => {
      const config = loadCliConfig();
      const schemas = campaignEdgeSchemas(config.env.DEFAULT_COUNTRY);
      if (Boolean(options.csv) === Boolean(options.json)) {
        throw new InvalidInputError([{ field: 'csv', message: options.csv ? 'give --csv or --json, not both' : 'give the recipients as --csv <file> or --json <file>' }]);
      }
      const flags = Object.fromEntries(
        Object.entries({
          from: options.from,
          type: options.type,
          body: options.body,
          program: options.program,
          appendDisclosures: options.appendDisclosures,
          ratePerSecond: options.ratePerSecond,
          startAt: options.startAt,
          onQuietHours: options.onQuietHours,
          campaignId: options.campaignId,
        }).filter(([, value]) => value !== undefined),
      );
      let start: (campaigns: CampaignClient) => Promise<CampaignCreated>;
      if (options.csv) {
        const csvOptions = { ...flags, column: options.column, fileName: path.basename(options.csv) };
        checkInput(schemas.campaignCsvOptions, csvOptions);
        const content = await readImportFile(options.csv, 'csv');
        start = (campaigns) => campaigns.createCampaignFromCsv(content, csvOptions as Parameters<CampaignClient['createCampaignFromCsv']>[1]);
      } else {
        const file = await readJsonFile(options.json!);
        // Flags are strings; the JSON schema takes numbers and lists: read them as a multipart upload's fields are.
        const fromFlags = checkInput(schemas.campaignCsvOptions.pick({ from: true, ratePerSecond: true }).partial(), { from: flags.from, ratePerSecond: flags.ratePerSecond });
        const request = { ...file, ...flags, ...(fromFlags.from ? { from: fromFlags.from } : {}), ...(fromFlags.ratePerSecond ? { ratePerSecond: fromFlags.ratePerSecond } : {}) };
        checkInput(schemas.createCampaign, request);
        start = (campaigns) => campaigns.createCampaign(request as Parameters<CampaignClient['createCampaign']>[0]);
      }
      await withCampaignClient(config, async (campaigns) => {
        const started = await start(campaigns);
        process.stderr.write(`campaign ${started.campaignId} (workflow ${started.workflowId})${started.created ? '' : ': already submitted'}\n`);
        for (const row of started.invalidRows.slice(0, 50)) process.stderr.write(`  line ${row.line}: ${row.reason}\n`);
        if (started.counts.invalid > Math.min(started.invalidRows.length, 50)) process.stderr.write(`  … and ${started.counts.invalid - Math.min(started.invalidRows.length, 50)} more invalid rows\n`);
        if (!options.wait) return print({ campaignId: started.campaignId, workflowId: started.workflowId, status: started.status, counts: started.counts });
        await watch(campaigns, started);
      });
    });

  campaign
    .command('status')
    .description("a campaign's status and counts")
    .argument('<campaignId>', 'the campaign')
    .option('--json', 'print the whole campaign as JSON')
    .action(async (campaignId: string, options: { json?: boolean }) => {
      const config = loadCliConfig();
      checkInput(campaignEdgeSchemas(config.env.DEFAULT_COUNTRY).campaignParams, { campaignId });
      await withCampaignClient(config, async (campaigns) => {
        const report = await campaigns.getCampaign(campaignId);
        print(options.json ? report : describeCounts(report.status, report.counts, report.heldUntil));
      });
    });

  for (const [action, description] of [
    ['pause', 'stop sending; answers once the sends in flight have finished'],
    ['resume', 'send again after a pause'],
    ['cancel', 'stop for good: every recipient not yet sent to is cancelled'],
  ] as const) {
    campaign
      .command(action)
      .description(description)
      .argument('<campaignId>', 'the campaign')
      .action(async (campaignId: string) => {
        const config = loadCliConfig();
        checkInput(campaignEdgeSchemas(config.env.DEFAULT_COUNTRY).campaignParams, { campaignId });
        await withCampaignClient(config, async (campaigns) => {
          const progress = await campaigns[action](campaignId);
          print(describeCounts(progress.status, progress.counts, progress.heldUntil));
        });
      });
  }

  campaign
    .command('recipients')
    .description("the recipients' outcomes in line order; --csv exports every one")
    .argument('<campaignId>', 'the campaign')
    .addOption(new Option('--status <status>', 'only this outcome').choices(RECIPIENT_STATUSES))
    .option('--limit <n>', 'recipients to show (JSON output), at most 1000', '100')
    .option('--cursor <cursor>', 'the nextCursor of a previous page')
    .option('--csv', 'write CSV (every matching recipient) instead of JSON')
    .option('--output <file>', 'write to this file instead of stdout')
    .action(async (campaignId: string, options: { status?: (typeof RECIPIENT_STATUSES)[number]; limit: string; cursor?: string; csv?: boolean; output?: string }) => {
      const config = loadCliConfig();
      const schemas = campaignEdgeSchemas(config.env.DEFAULT_COUNTRY);
      checkInput(schemas.campaignParams, { campaignId });
      const query = checkInput(schemas.recipientsPage, { status: options.status, limit: options.limit, cursor: options.cursor });
      const out = options.output ? await openOutput(options.output, 'output') : process.stdout;
      await withCampaignClient(config, async (campaigns) => {
        if (options.csv) {
          await pipeline(Readable.from(campaigns.exportRecipients(campaignId, { status: query.status })), stringify({ header: true, columns: [...CAMPAIGN_RECIPIENT_CSV_COLUMNS] }), out);
          return;
        }
        const text = `${JSON.stringify(await campaigns.listRecipients(campaignId, query), null, 2)}\n`;
        if (out === process.stdout) out.write(text);
        else await new Promise<void>((resolve, reject) => out.end(text, () => resolve()).once('error', reject));
      });
    });
}
