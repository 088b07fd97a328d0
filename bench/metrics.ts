/**
 * Prometheus text scraped from the worker (SDK metrics) and the dev server, for profiling: where a scenario's time
 * went, as deltas between two scrapes. Histograms are summarised by count, mean and bucket-estimated quantiles.
 */

export type Scrape = Map<string, number>;

export async function scrape(url: string): Promise<Scrape> {
  const series: Scrape = new Map();
  const text = await fetch(url).then((response) => response.text()).catch(() => '');
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) series.set(line.slice(0, space), value);
  }
  return series;
}

function labelsOf(key: string): Record<string, string> {
  const open = key.indexOf('{');
  const labels: Record<string, string> = {};
  if (open < 0) return labels;
  for (const match of key.slice(open + 1, -1).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]!] = match[2]!;
  return labels;
}

function nameOf(key: string): string {
  const open = key.indexOf('{');
  return open < 0 ? key : key.slice(0, open);
}

export interface HistogramDelta {
  count: number;
  mean: number;
  p50: number;
  p99: number;
}

/** The histogram `name` between two scrapes, over the series whose labels match `where` (all of them when empty). */
export function histogramDelta(before: Scrape, after: Scrape, name: string, where: Record<string, string> = {}): HistogramDelta | undefined {
  const matches = (key: string) => Object.entries(where).every(([label, value]) => labelsOf(key)[label] === value);
  let count = 0;
  let sum = 0;
  const buckets = new Map<number, number>();
  for (const [key, value] of after) {
    if (!matches(key)) continue;
    const delta = value - (before.get(key) ?? 0);
    const series = nameOf(key);
    if (series === `${name}_count`) count += delta;
    else if (series === `${name}_sum`) sum += delta;
    else if (series === `${name}_bucket`) {
      const le = labelsOf(key).le!;
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + delta);
    }
  }
  if (count <= 0) return undefined;
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const quantile = (q: number) => bounds.find((bound) => buckets.get(bound)! >= q * count) ?? Number.POSITIVE_INFINITY;
  return { count, mean: sum / count, p50: quantile(0.5), p99: quantile(0.99) };
}

export function counterDelta(before: Scrape, after: Scrape, name: string, where: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, value] of after) {
    if (nameOf(key) !== name) continue;
    const labels = labelsOf(key);
    if (!Object.entries(where).every(([label, expected]) => labels[label] === expected)) continue;
    total += value - (before.get(key) ?? 0);
  }
  return total;
}

/** Every label value of `label` that series `name` carries (e.g. the operations a latency histogram saw). */
export function labelValues(scrape: Scrape, name: string, label: string): string[] {
  const values = new Set<string>();
  for (const key of scrape.keys()) if (nameOf(key).startsWith(name)) values.add(labelsOf(key)[label] ?? '');
  return [...values].filter(Boolean).sort();
}
