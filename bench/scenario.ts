/** What a scenario is given, and what it reports: figures set beside their baselines, measured in the same run. */
import type { ConsentWorkerTuning } from '../worker/consent-worker';
import type { BenchEnvironment } from './environment';
import type { PhoneNumbers } from './phones';

export interface ScenarioContext {
  env: BenchEnvironment;
  /** reduced sizes (`--quick`) */
  quick: boolean;
  /** how many times each measured run is repeated (median and p99 are taken over them) */
  repetitions: number;
  /** the worker tuning every worker of the run gets, unless a scenario says why it differs */
  tuning: ConsentWorkerTuning;
  phones: PhoneNumbers;
  /** command-line sizes overriding a scenario's defaults, e.g. `--import-rows 100000` */
  options: Record<string, string>;
  log(message: string): void;
}

/** One measured quantity of a scenario; `higherIsBetter` orients the ratio's reading. */
export interface Figure {
  label: string;
  unit: string;
  higherIsBetter: boolean;
  /** median and tail over repetitions (throughput) or samples (latency) */
  median: number;
  p99: number;
  baseline?: { label: string; median: number; p99: number };
  /** what the issue asks of this ratio, e.g. "≥ 0.8×" */
  target?: string;
}

export interface ScenarioResult {
  id: string;
  title: string;
  figures: Figure[];
  /** everything else a reader may want: raw samples, worker metrics, CPU by process, notes */
  details: Record<string, unknown>;
}

export interface Scenario {
  id: string;
  title: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

/** scenario ÷ baseline for a figure, or undefined without a baseline. */
export function ratio(figure: Figure, which: 'median' | 'p99' = 'median'): number | undefined {
  if (!figure.baseline) return undefined;
  return figure[which] / figure.baseline[which];
}
