/** The run's record: a JSON file under bench/results/ and a table for the terminal (and the README). */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ratio, type Figure, type ScenarioResult } from './scenario';

export interface RunRecord {
  startedAt: string;
  finishedAt: string;
  mode: 'quick' | 'full';
  machine: { cores: number; cpuModel: string; memoryGiB: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[]; node: string };
  environment: Record<string, unknown>;
  worker: Record<string, unknown>;
  repetitions: number;
  scenarios: ScenarioResult[];
  failures: { id: string; error: string }[];
}

export async function writeRecord(record: RunRecord): Promise<string> {
  const directory = path.join(__dirname, 'results');
  await mkdir(directory, { recursive: true });
  const file = path.join(directory, `${record.startedAt.replace(/[:.]/g, '-')}-${record.mode}.json`);
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}

function value(figure: Pick<Figure, 'unit'>, amount: number): string {
  const digits = Math.abs(amount) >= 100 ? 0 : Math.abs(amount) >= 10 ? 1 : 2;
  const text = amount.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return figure.unit === '/s' ? `${text}/s` : `${text} ${figure.unit}`;
}

/** A Markdown table: one row per figure, its baseline beside it and the ratio (scenario ÷ baseline) at median and p99. */
export function renderTable(scenarios: ScenarioResult[]): string {
  const lines = [
    '| scenario | measured | median | p99 | baseline | baseline median | baseline p99 | ratio median | ratio p99 | target |',
    '|---|---|--:|--:|---|--:|--:|--:|--:|---|',
  ];
  for (const scenario of scenarios) {
    scenario.figures.forEach((figure, index) => {
      const median = ratio(figure, 'median');
      const p99 = ratio(figure, 'p99');
      lines.push(
        [
          index === 0 ? scenario.title : '',
          figure.label,
          value(figure, figure.median),
          value(figure, figure.p99),
          figure.baseline?.label ?? '—',
          figure.baseline ? value(figure, figure.baseline.median) : '',
          figure.baseline ? value(figure, figure.baseline.p99) : '',
          median === undefined ? '' : `${median.toFixed(2)}×`,
          p99 === undefined ? '' : `${p99.toFixed(2)}×`,
          figure.target ?? '',
        ].join(' | ').replace(/^/, '| ').replace(/$/, ' |'),
      );
    });
  }
  return lines.join('\n');
}
