/**
 * Send pipeline: POST /v1/messages end to end (send workflow, the send gate: the actor's reserveSend, the outbox
 * fence, first-message disclosures appended, the sandbox provider, the outbox and the ledger, the actor told), to
 * contacts with express written consent, at concurrency 1 and 16. Baseline: starting a no-op workflow that runs one
 * no-op activity, and awaiting its result, at the same concurrency (Temporal's own floor for one durable send).
 */
import { randomUUID } from 'node:crypto';
import { buildApiServer } from '../../client/http/server';
import { BUSINESS_NUMBER, contactsWithConsent } from '../fixtures';
import { describeCpu, profilePhase, type PhaseProfile } from '../profile';
import type { Figure, Scenario, ScenarioContext } from '../scenario';
import { summariseLatency, summariseThroughput, timedPool } from '../stats';
import { oneActivityWorkflow } from '../workflows';

const CONCURRENCIES = [1, 16] as const;
const BODY = 'Your cleaning is on Tuesday at 10am.';

export const sendPipeline: Scenario = {
  id: 'send-pipeline',
  title: 'Send pipeline (POST /v1/messages, sandbox provider)',
  async run(context: ScenarioContext) {
    const { env, repetitions, log } = context;
    const count = Number(context.options['send-pipeline-messages'] ?? (context.quick ? 60 : 300));
    const consentWorker = await env.startWorker('consent', context.tuning);
    const noopWorker = await env.startWorker('noop', context.tuning);
    const consent = env.consentClient(consentWorker.taskQueue);
    const api = buildApiServer({ consent, client: env.client, pool: env.pool, namespace: env.namespace, taskQueue: consentWorker.taskQueue });
    await api.ready();
    const runs: Record<number, { rates: number[]; baselineRates: number[]; latencies: number[]; baselineLatencies: number[]; profiles: PhaseProfile[] }> = {};
    try {
      for (let repetition = 0; repetition < repetitions; repetition++) {
        for (const concurrency of CONCURRENCIES) {
          const run = (runs[concurrency] ??= { rates: [], baselineRates: [], latencies: [], baselineLatencies: [], profiles: [] });
          const contacts = context.phones.take(count);
          await contactsWithConsent(consent, contacts);

          const baselineStarted = performance.now();
          run.baselineLatencies.push(
            ...(await timedPool(contacts, concurrency, () =>
              env.client.workflow.execute(oneActivityWorkflow, { workflowId: `bench-one-activity-${randomUUID()}`, taskQueue: noopWorker.taskQueue }),
            )),
          );
          run.baselineRates.push(count / ((performance.now() - baselineStarted) / 1000));

          const { result, profile } = await profilePhase(env, { consent: consentWorker }, async () => {
            const started = performance.now();
            const durations = await timedPool(contacts, concurrency, async (to) => {
              const response = await api.inject({
                method: 'POST',
                url: '/v1/messages',
                payload: { to, from: BUSINESS_NUMBER, body: BODY, type: 'transactional', appendDisclosures: true, idempotencyKey: `bench-${randomUUID()}` },
              });
              if (response.statusCode !== 201) throw new Error(`POST /v1/messages answered ${response.statusCode}: ${response.body}`);
            });
            return { durations, seconds: (performance.now() - started) / 1000 };
          });
          run.latencies.push(...result.durations);
          run.rates.push(count / result.seconds);
          run.profiles.push(profile);
          log(
            `  repetition ${repetition + 1}/${repetitions}, concurrency ${concurrency}: ${run.rates.at(-1)!.toFixed(1)} messages/s, ` +
              `p50 ${summariseLatency(result.durations).p50Ms.toFixed(1)} ms; one-activity workflow ${run.baselineRates.at(-1)!.toFixed(1)}/s`,
          );
          log(`    CPU: ${describeCpu(profile, { count, what: 'message' })}`);
        }
      }
    } finally {
      await api.close();
      await consentWorker.stop();
      await noopWorker.stop();
    }
    const figures: Figure[] = [];
    for (const concurrency of CONCURRENCIES) {
      const run = runs[concurrency]!;
      const latency = summariseLatency(run.latencies);
      const baselineLatency = summariseLatency(run.baselineLatencies);
      const throughput = summariseThroughput(run.rates);
      const baselineThroughput = summariseThroughput(run.baselineRates);
      const baselineLabel = 'start a no-op workflow with one no-op activity, await its result';
      figures.push(
        {
          label: `one message, request to answer, concurrency ${concurrency}`,
          unit: 'ms',
          higherIsBetter: false,
          median: latency.p50Ms,
          p99: latency.p99Ms,
          baseline: { label: baselineLabel, median: baselineLatency.p50Ms, p99: baselineLatency.p99Ms },
        },
        {
          label: `messages sent, concurrency ${concurrency}`,
          unit: '/s',
          higherIsBetter: true,
          median: throughput.medianPerSecond,
          p99: throughput.p99PerSecond,
          baseline: { label: baselineLabel, median: baselineThroughput.medianPerSecond, p99: baselineThroughput.p99PerSecond },
        },
      );
    }
    return {
      id: this.id,
      title: `${this.title}, ${count} messages per concurrency`,
      figures,
      details: { count, concurrencies: CONCURRENCIES, runs },
    };
  },
};
