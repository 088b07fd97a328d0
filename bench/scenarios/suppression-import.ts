/**
 * Suppression import: a CSV of N new numbers through POST-equivalent importSuppressionList, each opted out through its
 * contact actor (update-with-start), timed to the workflow's result; the worker runs in its own process and its
 * resident memory is sampled throughout. Baseline: N raw signalWithStart calls to a no-op workflow, 32 in flight
 * (the import's own concurrency), timed until every one has run on its worker (a row counts once its actor applied
 * the opt-out, so both sides are timed to work done, not to calls accepted). `--import-baseline-rows` sizes the
 * baseline apart, so a 100,000-row import need not wait for 100,000 baseline workflows as well.
 */
import { randomUUID } from 'node:crypto';
import { counterDelta, scrape } from '../metrics';
import { describeCpu, profilePhase, type PhaseProfile } from '../profile';
import type { Scenario, ScenarioContext } from '../scenario';
import { percentile, pollUntil, timedPool } from '../stats';
import type { WorkerMemory } from '../worker-handle';
import { noopSignal, noopWorkflow } from '../workflows';

/** As activities/suppression-import.ts's UPDATE_CONCURRENCY, so the baseline keeps as many calls in flight. */
const BASELINE_CONCURRENCY = 32;
/** Rates are also taken per window, so one long run still gives a median and a tail; 30 s spans several of the
 * import's 500-row batches (its progress moves a batch at a time, so a 10 s window could see none finish). Both
 * sides' windows start at their first finished work, so neither tail is its start-up. */
const WINDOW_SECONDS = 30;

export const suppressionImport: Scenario = {
  id: 'import',
  title: 'Suppression import',
  async run(context: ScenarioContext) {
    const { env, log } = context;
    const rows = Number(context.options['import-rows'] ?? (context.quick ? 1000 : 10_000));

    // Baseline, in its own worker process: the same number of raw signalWithStart calls (or --import-baseline-rows),
    // timed like the import, until every one of them has run on its worker.
    const baselineRows = Number(context.options['import-baseline-rows'] ?? rows);
    const noopWorker = await env.startWorker('noop', context.tuning);
    const baselineMemory = noopWorker.sampleMemory();
    let baselineRss: WorkerMemory;
    const baselineWindows: number[] = [];
    let baselineAccepted = 0;
    let baselineRan = 0;
    try {
      const completed = async () => counterDelta(new Map(), await scrape(noopWorker.metricsUrl), 'temporal_workflow_completed');
      const completedBefore = await completed();
      const started = performance.now();
      // Windows start at the first finished workflow, as the import's start at its first finished batch.
      let last: { at: number; ran: number } | undefined;
      const sampler = setInterval(() => {
        void completed().then((total) => {
          const now = performance.now();
          const ran = total - completedBefore;
          if (last === undefined) {
            if (ran > 0) last = { at: now, ran };
            return;
          }
          if (now - last.at < WINDOW_SECONDS * 1000) return;
          baselineWindows.push((ran - last.ran) / ((now - last.at) / 1000));
          last = { at: now, ran };
        });
      }, 1000);
      try {
        await timedPool(Array.from({ length: baselineRows }, (_, index) => index), BASELINE_CONCURRENCY, (index) =>
          env.client.workflow.signalWithStart(noopWorkflow, {
            workflowId: `noop-import-${randomUUID()}-${index}`,
            taskQueue: noopWorker.taskQueue,
            args: [{ completeAfterSignals: 1 }],
            signal: noopSignal,
            signalArgs: [{ source: 'suppression-import' }],
          }),
        );
        baselineAccepted = baselineRows / ((performance.now() - started) / 1000);
        const ran = await pollUntil(async () => (await completed()) - completedBefore >= baselineRows, {
          timeoutMs: 3_600_000,
          intervalMs: 500,
          what: `${baselineRows} no-op workflows to run`,
        });
        baselineRan = baselineRows / ((ran - started) / 1000);
      } finally {
        clearInterval(sampler);
      }
    } finally {
      baselineRss = await baselineMemory.stop();
      await noopWorker.stop();
    }
    log(`  baseline: ${baselineRows} signalWithStart accepted at ${baselineAccepted.toFixed(1)}/s, all run at ${baselineRan.toFixed(1)}/s; no-op worker peak RSS ${baselineRss.vmHwmMiB.toFixed(0)} MiB`);

    // The import, with a fresh worker so its high-water mark is the import's own.
    const consentWorker = await env.startWorker('consent', context.tuning);
    const consent = env.consentClient(consentWorker.taskQueue);
    const memory = consentWorker.sampleMemory();
    let rss: WorkerMemory;
    const windows: number[] = [];
    let importSeconds = 0;
    let progressFinal: unknown;
    let profileOut: PhaseProfile | undefined;
    try {
      const phones = context.phones.take(rows);
      const csv = `phone\n${phones.join('\n')}\n`;
      const { result, profile } = await profilePhase(env, { consent: consentWorker }, async () => {
        const started = performance.now();
        const { importId } = await consent.importSuppressionList(csv, { recordedBy: 'bench@example.com', fileName: 'bench.csv' });
        // Windows start at the first finished batch: the upload, parsing and storing of the file come before it.
        let last: { at: number; optedOut: number } | undefined;
        const sampler = setInterval(() => {
          void consent
            .getSuppressionImport(importId, { invalidRowsLimit: 0 })
            .then(({ progress }) => {
              const now = performance.now();
              if (last === undefined) {
                if (progress.optedOut > 0) last = { at: now, optedOut: progress.optedOut };
                return;
              }
              if (now - last.at < WINDOW_SECONDS * 1000) return;
              windows.push((progress.optedOut - last.optedOut) / ((now - last.at) / 1000));
              log(`    ${progress.optedOut.toLocaleString('en-US')} / ${rows.toLocaleString('en-US')} rows after ${((now - started) / 1000).toFixed(0)} s`);
              last = { at: now, optedOut: progress.optedOut };
            })
            .catch(() => undefined);
        }, 1000);
        try {
          const progress = await consent.waitForSuppressionImport(importId);
          return { progress, seconds: (performance.now() - started) / 1000 };
        } finally {
          clearInterval(sampler);
        }
      });
      if (result.progress.optedOut !== rows) throw new Error(`import opted out ${result.progress.optedOut} of ${rows}: ${JSON.stringify(result.progress)}`);
      importSeconds = result.seconds;
      progressFinal = result.progress;
      profileOut = profile;
      log(`    CPU: ${describeCpu(profile, { count: rows, what: 'row' })}`);
    } finally {
      rss = await memory.stop();
      await consentWorker.stop();
    }
    const rowsPerSecond = rows / importSeconds;
    log(`  import: ${rows} rows in ${importSeconds.toFixed(1)} s = ${rowsPerSecond.toFixed(1)} rows/s; worker peak RSS ${rss.vmHwmMiB.toFixed(0)} MiB`);

    const windowMedian = (values: number[], fallback: number) => (values.length > 0 ? percentile(values, 50) : fallback);
    const windowTail = (values: number[], fallback: number) => (values.length > 0 ? 1 / percentile(values.map((v) => 1 / v), 99) : fallback);
    return {
      id: this.id,
      title: `${this.title}, ${rows.toLocaleString('en-US')} rows`,
      figures: [
        {
          label: `rows opted out (whole import ${rowsPerSecond.toFixed(1)}/s)`,
          unit: '/s',
          higherIsBetter: true,
          median: windowMedian(windows, rowsPerSecond),
          p99: windowTail(windows, rowsPerSecond),
          baseline: {
            label: `raw signalWithStart of ${baselineRows.toLocaleString('en-US')} no-op workflows, ${BASELINE_CONCURRENCY} in flight, until each ran (whole run ${baselineRan.toFixed(1)}/s)`,
            median: windowMedian(baselineWindows, baselineRan),
            p99: windowTail(baselineWindows, baselineRan),
          },
        },
        {
          label: 'worker peak RSS (VmHWM)',
          unit: 'MiB',
          higherIsBetter: false,
          median: rss.vmHwmMiB,
          p99: rss.vmHwmMiB,
          baseline: { label: 'no-op worker peak RSS', median: baselineRss.vmHwmMiB, p99: baselineRss.vmHwmMiB },
          target: '< 500 MiB',
        },
      ],
      details: {
        rows,
        importSeconds,
        rowsPerSecond,
        windowSeconds: WINDOW_SECONDS,
        windows,
        baselineWindows,
        baselineRows,
        baselineAcceptedPerSecond: baselineAccepted,
        baselineRanPerSecond: baselineRan,
        rss,
        baselineRss,
        progress: progressFinal,
        profile: profileOut,
      },
    };
  },
};
