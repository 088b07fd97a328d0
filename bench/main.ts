/**
 * `npm run bench`: how fast consent is enforced, each scenario set beside its baseline measured in the same run.
 *
 *   npm run bench                           every scenario, full sizes (11.2 and 12.5 minutes measured on 2 cores
 *                                           before quiet-hours, which took 79.9 minutes alone)
 *   npm run bench -- --quick                reduced sizes (2.1 to 2.7 minutes measured)
 *   npm run bench -- --only import,send-check
 *   npm run bench -- --only import --import-rows 100000 --import-baseline-rows 10000
 *   npm run bench -- --only quiet-hours --quiet-hours-recipients 500 --quiet-hours-held-recipients 500
 *   npm run bench -- --repetitions 5 --tuning '{"maxCachedWorkflows":500}' --worker-heap-mib 0
 *
 * Results: a table on the terminal and bench/results/<time>-<mode>.json. Nothing here asserts on time.
 */
import os from 'node:os';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { DEFAULT_WORKER_TUNING, type ConsentWorkerTuning } from '../worker/consent-worker';
import { startBenchEnvironment, WORKER_HEAP_MIB, WORKER_POOL_SIZE } from './environment';
import { PhoneNumbers } from './phones';
import { renderTable, writeRecord, type RunRecord } from './report';
import type { Scenario, ScenarioResult } from './scenario';
import { campaign } from './scenarios/campaign';
import { longLivedContact } from './scenarios/long-lived-contact';
import { optOutPropagation } from './scenarios/opt-out-propagation';
import { quietHours } from './scenarios/quiet-hours';
import { sendCheck } from './scenarios/send-check';
import { sendPipeline } from './scenarios/send-pipeline';
import { stopBurst } from './scenarios/stop-burst';
import { suppressionImport } from './scenarios/suppression-import';

const SCENARIOS: Scenario[] = [stopBurst, sendCheck, optOutPropagation, sendPipeline, campaign, quietHours, suppressionImport, longLivedContact];

interface Arguments {
  quick: boolean;
  only: string[] | undefined;
  repetitions: number | undefined;
  tuning: ConsentWorkerTuning;
  /** the worker processes' V8 heap limit (--max-old-space-size), as docker-compose.yml gives the worker; 0: Node's own */
  workerHeapMiB: number;
  options: Record<string, string>;
}

function parseArguments(argv: string[]): Arguments {
  const parsed: Arguments = { quick: false, only: undefined, repetitions: undefined, tuning: {}, workerHeapMiB: WORKER_HEAP_MIB, options: {} };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    const next = () => {
      const value = argv[++index];
      if (value === undefined) throw new Error(`${argument} needs a value`);
      return value;
    };
    if (argument === '--quick') parsed.quick = true;
    else if (argument === '--only') parsed.only = next().split(',').map((id) => id.trim());
    else if (argument === '--repetitions') parsed.repetitions = Number(next());
    else if (argument === '--tuning') parsed.tuning = JSON.parse(next()) as ConsentWorkerTuning;
    else if (argument === '--worker-heap-mib') parsed.workerHeapMiB = Number(next());
    else if (argument.startsWith('--')) parsed.options[argument.slice(2)] = next();
    else throw new Error(`unknown argument ${argument}`);
  }
  const unknown = parsed.only?.filter((id) => !SCENARIOS.some((scenario) => scenario.id === id));
  if (unknown?.length) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  return parsed;
}

async function main(): Promise<void> {
  // The SDK's INFO lines (worker state changes) would drown the report.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const args = parseArguments(process.argv.slice(2));
  const mode = args.quick ? 'quick' : 'full';
  // Two: a full run with three took 15.5 minutes here (2 cores), over its budget; latency figures have thousands of
  // samples per repetition, and throughput figures report the slower repetition as their tail.
  const repetitions = args.repetitions ?? 2;
  const tuning: ConsentWorkerTuning = { ...DEFAULT_WORKER_TUNING, ...args.tuning };
  const scenarios = SCENARIOS.filter((scenario) => !args.only || args.only.includes(scenario.id));
  const log = (message: string) => console.log(message);
  const startedAt = new Date();
  const machine = {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverageAtStart: os.loadavg(),
    loadAverageAtEnd: [] as number[],
    node: process.version,
  };

  log(`sms-consent-engine benchmark, ${mode} mode, ${startedAt.toISOString()}`);
  log(`machine: ${machine.cores} cores (os.availableParallelism()), ${machine.cpuModel}, ${machine.memoryGiB} GiB, load average ${loadAverage()}`);
  const env = await startBenchEnvironment((message) => log(`[env] ${message}`), { workerHeapMiB: args.workerHeapMiB });
  const record: RunRecord = {
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    mode,
    machine,
    environment: { ...env.description },
    worker: {
      tuning,
      heapLimitMiB: args.workerHeapMiB || null,
      postgresPoolSize: WORKER_POOL_SIZE,
      process: 'one child process per worker (bench/worker-process.ts)',
    },
    repetitions,
    scenarios: [],
    failures: [],
  };
  log(`temporal: ${env.description.temporal}`);
  if (env.description.temporalCommandLine) log(`  its command line: ${env.description.temporalCommandLine}`);
  if (env.description.sqliteWal !== null) log(`  SQLite write-ahead log present: ${env.description.sqliteWal ? 'yes (journal_mode=WAL took effect)' : 'no'}`);
  log(`postgres: ${env.description.postgres}`);
  log(`worker tuning: ${JSON.stringify(tuning)}, Postgres pool ${WORKER_POOL_SIZE} per worker process`);
  log(`worker heap limit: ${args.workerHeapMiB ? `--max-old-space-size=${args.workerHeapMiB} (as docker-compose.yml runs the worker)` : "Node's default"}`);
  log(`repetitions: ${repetitions}; scenarios: ${scenarios.map((scenario) => scenario.id).join(', ')}`);

  const phones = new PhoneNumbers();
  try {
    for (const scenario of scenarios) {
      const started = performance.now();
      log(`\n▶ ${scenario.title} (load average ${loadAverage()})`);
      try {
        const result: ScenarioResult = await scenario.run({ env, quick: args.quick, repetitions, tuning, phones, options: args.options, log });
        record.scenarios.push(result);
      } catch (error) {
        log(`  failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        record.failures.push({ id: scenario.id, error: String(error) });
      }
      log(`  (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
  } finally {
    await env.stop();
  }
  machine.loadAverageAtEnd = os.loadavg();
  record.finishedAt = new Date().toISOString();
  const file = await writeRecord(record);
  const minutes = (Date.parse(record.finishedAt) - startedAt.getTime()) / 60_000;
  log(`\n${renderTable(record.scenarios)}\n`);
  log(
    `${machine.cores} cores; load average at start ${machine.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}, ` +
      `at end ${machine.loadAverageAtEnd.map((l) => l.toFixed(2)).join(' ')}; ${minutes.toFixed(1)} minutes`,
  );
  log(`ratios are scenario ÷ baseline; throughput p99 is the slowest repetition's (or window's) rate`);
  log(`results: ${file}`);
  if (record.failures.length > 0) process.exitCode = 1;
}

function loadAverage(): string {
  return os.loadavg().map((load) => load.toFixed(2)).join(' ');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
