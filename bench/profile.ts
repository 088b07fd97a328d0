/**
 * Where a phase's time went: CPU seconds by process and thread, and the worker's own latency histograms (SDK
 * metrics) between the start and the end of the phase. Attached to each scenario's details in the JSON results.
 */
import { cpuDelta, snapshotCpu, type CpuTargets } from './cpu';
import type { BenchEnvironment, StartedWorker } from './environment';
import { counterDelta, histogramDelta, scrape, type HistogramDelta } from './metrics';

/** SDK histograms worth reading for a consent workload (milliseconds). */
const WORKER_HISTOGRAMS = [
  'temporal_workflow_task_schedule_to_start_latency',
  'temporal_workflow_task_execution_latency',
  'temporal_workflow_task_replay_latency',
  'temporal_local_activity_execution_latency',
  'temporal_activity_schedule_to_start_latency',
  'temporal_activity_execution_latency',
];
const WORKER_COUNTERS = ['temporal_sticky_cache_hit', 'temporal_sticky_cache_miss', 'temporal_sticky_cache_total_forced_eviction'];

export interface PhaseProfile {
  seconds: number;
  cpuSeconds: { name: string; seconds: number }[];
  workers: Record<string, { histograms: Record<string, HistogramDelta>; counters: Record<string, number> }>;
}

export async function profilePhase<T>(
  env: BenchEnvironment,
  workers: Record<string, StartedWorker>,
  run: () => Promise<T>,
): Promise<{ result: T; profile: PhaseProfile }> {
  const targetsOf = (worker?: StartedWorker): CpuTargets => ({
    worker: worker?.pid,
    server: env.serverPid ?? undefined,
    postgresDatabase: env.databaseName,
  });
  const entries = Object.entries(workers);
  const cpuBefore = await Promise.all(entries.map(([, worker]) => snapshotCpu(targetsOf(worker))));
  const metricsBefore = await Promise.all(entries.map(([, worker]) => scrape(worker.metricsUrl)));
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = await Promise.all(entries.map(([, worker]) => snapshotCpu(targetsOf(worker))));
  const metricsAfter = await Promise.all(entries.map(([, worker]) => scrape(worker.metricsUrl)));

  // Shared processes (server, Postgres, driver) from the first snapshot; each worker's own threads under its name.
  const cpuSeconds: { name: string; seconds: number }[] = [];
  entries.forEach(([name], index) => {
    for (const entry of cpuDelta(cpuBefore[index]!, cpuAfter[index]!)) {
      if (entry.name.startsWith('worker/')) cpuSeconds.push({ name: `${name} worker/${entry.name.slice('worker/'.length)}`, seconds: entry.seconds });
      else if (index === 0) cpuSeconds.push(entry);
    }
  });
  cpuSeconds.sort((a, b) => b.seconds - a.seconds);

  const profile: PhaseProfile = { seconds, cpuSeconds, workers: {} };
  entries.forEach(([name, worker], index) => {
    const histograms: Record<string, HistogramDelta> = {};
    for (const histogram of WORKER_HISTOGRAMS) {
      const delta = histogramDelta(metricsBefore[index]!, metricsAfter[index]!, histogram);
      if (delta) histograms[histogram.replace(/^temporal_/, '')] = delta;
    }
    const counters: Record<string, number> = {};
    for (const counter of WORKER_COUNTERS) {
      counters[counter.replace(/^temporal_/, '')] = counterDelta(metricsBefore[index]!, metricsAfter[index]!, counter);
    }
    profile.workers[name] = { histograms, counters };
  });
  return { result, profile };
}

/** "worker threads 24.4 s, dev server 28.7 s, …" for the terminal. */
export function describeCpu(profile: PhaseProfile, per?: { count: number; what: string }): string {
  return profile.cpuSeconds
    .slice(0, 6)
    .map(({ name, seconds }) => `${name} ${seconds.toFixed(1)} s${per ? ` (${((seconds * 1000) / per.count).toFixed(1)} ms/${per.what})` : ''}`)
    .join(', ');
}
