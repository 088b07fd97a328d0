/** Percentiles and the summaries every figure is reported with. */

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summariseLatency(samplesMs: number[]): LatencySummary {
  return { samples: samplesMs.length, p50Ms: percentile(samplesMs, 50), p99Ms: percentile(samplesMs, 99), maxMs: Math.max(...samplesMs) };
}

export interface ThroughputSummary {
  /** one rate per repetition, per second */
  repetitions: number[];
  /** the median repetition */
  medianPerSecond: number;
  /** the slow tail: the rate of the 99th-percentile (slowest) repetition */
  p99PerSecond: number;
}

/** Throughput over repetitions; the tail is the slow end, so p99 is taken over durations, not rates. */
export function summariseThroughput(ratesPerSecond: number[]): ThroughputSummary {
  return {
    repetitions: ratesPerSecond,
    medianPerSecond: percentile(ratesPerSecond, 50),
    p99PerSecond: 1 / percentile(ratesPerSecond.map((rate) => 1 / rate), 99),
  };
}

/** Runs `task` over `items` with at most `concurrency` in flight; returns each item's duration in ms, in item order. */
export async function timedPool<T>(items: T[], concurrency: number, task: (item: T, index: number) => Promise<unknown>): Promise<number[]> {
  const durations = new Array<number>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      const started = performance.now();
      await task(items[index]!, index);
      durations[index] = performance.now() - started;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return durations;
}

/** Polls `read` until it returns true; resolves with the time it became true (performance.now()). */
export async function pollUntil(read: () => Promise<boolean>, { intervalMs = 100, timeoutMs, what }: { intervalMs?: number; timeoutMs: number; what: string }): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await read()) return performance.now();
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
