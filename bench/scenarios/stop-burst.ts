/**
 * Inbound STOP burst: STOPs to distinct contacts, each by signalWithStart (client.handleInbound), timed until every
 * contact is on the opt-out list and every confirmation is recorded as sent. Baseline: the same number of
 * signalWithStart calls to a no-op workflow, timed until every one of them has run (finished) on its worker.
 */
import { randomUUID } from 'node:crypto';
import { counterDelta, scrape } from '../metrics';
import { describeCpu, profilePhase, type PhaseProfile } from '../profile';
import type { Scenario, ScenarioContext } from '../scenario';
import { pollUntil, summariseThroughput, timedPool } from '../stats';
import { noopSignal, noopWorkflow } from '../workflows';

const BUSINESS_NUMBER = '+14155550100';
/** Calls in flight at once from the driver: a provider's webhook burst, many requests at a time. */
const CLIENT_CONCURRENCY = 32;

export const stopBurst: Scenario = {
  id: 'stop-burst',
  title: 'Inbound STOP burst',
  async run(context: ScenarioContext) {
    const { env, repetitions, log } = context;
    const count = Number(context.options['stop-burst-size'] ?? (context.quick ? 300 : 2000));
    const consentWorker = await env.startWorker('consent', context.tuning);
    const noopWorker = await env.startWorker('noop', context.tuning);
    const consent = env.consentClient(consentWorker.taskQueue);
    const accepted: number[] = [];
    const completed: number[] = [];
    const baselineAccepted: number[] = [];
    const baselineCompleted: number[] = [];
    const profiles: { stop: PhaseProfile[]; baseline: PhaseProfile[] } = { stop: [], baseline: [] };
    try {
      for (let repetition = 0; repetition < repetitions; repetition++) {
        // Baseline first in each repetition, then the scenario, so drift in the machine's load touches both.
        const noopCompletedBefore = counterDelta(new Map(), await scrape(noopWorker.metricsUrl), 'temporal_workflow_completed');
        const baseline = await profilePhase(env, { noop: noopWorker }, async () => {
          const started = performance.now();
          await timedPool(Array.from({ length: count }, (_, index) => index), CLIENT_CONCURRENCY, (index) =>
            env.client.workflow.signalWithStart(noopWorkflow, {
              workflowId: `noop-burst-${randomUUID()}-${index}`,
              taskQueue: noopWorker.taskQueue,
              args: [{ completeAfterSignals: 1 }],
              signal: noopSignal,
              signalArgs: [{ body: 'STOP' }],
            }),
          );
          const allAccepted = performance.now();
          const allRan = await pollUntil(
            async () => counterDelta(new Map(), await scrape(noopWorker.metricsUrl), 'temporal_workflow_completed') - noopCompletedBefore >= count,
            { timeoutMs: 600_000, what: `${count} no-op workflows to finish` },
          );
          return { accepted: (allAccepted - started) / 1000, completed: (allRan - started) / 1000 };
        });
        baselineAccepted.push(count / baseline.result.accepted);
        baselineCompleted.push(count / baseline.result.completed);
        profiles.baseline.push(baseline.profile);

        const contacts = context.phones.take(count);
        const stop = await profilePhase(env, { consent: consentWorker }, async () => {
          const started = performance.now();
          await timedPool(contacts, CLIENT_CONCURRENCY, (contact, index) =>
            consent.handleInbound({ messageId: `SMburst${randomUUID().replaceAll('-', '')}${index}`, from: contact, to: BUSINESS_NUMBER, body: 'STOP' }),
          );
          const allAccepted = performance.now();
          const allDone = await pollUntil(
            async () => {
              const { rows } = await env.pool.query<{ listed: number; confirmed: number }>(
                `SELECT (SELECT count(*)::int FROM opt_outs WHERE phone = ANY($1)) AS listed,
                        (SELECT count(*)::int FROM outbound_messages WHERE contact = ANY($1) AND kind = 'opt_out_confirmation' AND status = 'sent') AS confirmed`,
                [contacts],
              );
              return rows[0]!.listed >= count && rows[0]!.confirmed >= count;
            },
            { timeoutMs: 900_000, what: `${count} contacts opted out and confirmed` },
          );
          return { accepted: (allAccepted - started) / 1000, completed: (allDone - started) / 1000 };
        });
        accepted.push(count / stop.result.accepted);
        completed.push(count / stop.result.completed);
        profiles.stop.push(stop.profile);
        log(
          `  repetition ${repetition + 1}/${repetitions}: STOPs accepted ${fmt(accepted.at(-1)!)}/s, all opted out and confirmed ${fmt(completed.at(-1)!)}/s; ` +
            `no-op signalWithStart accepted ${fmt(baselineAccepted.at(-1)!)}/s, all run ${fmt(baselineCompleted.at(-1)!)}/s`,
        );
        log(`    CPU (STOP burst): ${describeCpu(stop.profile, { count, what: 'STOP' })}`);
      }
    } finally {
      await consentWorker.stop();
      await noopWorker.stop();
    }
    const acceptedSummary = summariseThroughput(accepted);
    const completedSummary = summariseThroughput(completed);
    const baselineAcceptedSummary = summariseThroughput(baselineAccepted);
    const baselineCompletedSummary = summariseThroughput(baselineCompleted);
    return {
      id: this.id,
      title: `${this.title} (${count.toLocaleString('en-US')} STOPs, ${CLIENT_CONCURRENCY} in flight)`,
      figures: [
        {
          label: 'STOPs accepted (signalWithStart returned)',
          unit: '/s',
          higherIsBetter: true,
          median: acceptedSummary.medianPerSecond,
          p99: acceptedSummary.p99PerSecond,
          baseline: { label: 'no-op signalWithStart accepted', median: baselineAcceptedSummary.medianPerSecond, p99: baselineAcceptedSummary.p99PerSecond },
          target: '≥ 0.8×',
        },
        {
          label: 'every contact opted out and confirmed',
          unit: '/s',
          higherIsBetter: true,
          median: completedSummary.medianPerSecond,
          p99: completedSummary.p99PerSecond,
          baseline: { label: 'every no-op workflow run', median: baselineCompletedSummary.medianPerSecond, p99: baselineCompletedSummary.p99PerSecond },
          target: '≥ 0.8×',
        },
      ],
      details: { count, clientConcurrency: CLIENT_CONCURRENCY, accepted, completed, baselineAccepted, baselineCompleted, profiles },
    };
  },
};

function fmt(value: number): string {
  return value.toFixed(1);
}
