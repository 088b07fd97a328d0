/**
 * Send pipeline: POST /v1/messages end to end (send workflow, consent check against the actor, first-message
 * disclosures appended, the sandbox provider, the outbox and the ledger), to contacts with express written consent.
 * Baseline: the same sandbox provider call alone, without any consent check, at the same concurrency.
 */
import { randomUUID } from 'node:crypto';
import { createSandboxProvider } from '../../activities/providers/sandbox';
import { buildApiServer } from '../../client/http/server';
import { BUSINESS_NUMBER, contactsWithConsent } from '../fixtures';
import { describeCpu, profilePhase, type PhaseProfile } from '../profile';
import type { Scenario, ScenarioContext } from '../scenario';
import { summariseLatency, summariseThroughput, timedPool } from '../stats';

const CLIENT_CONCURRENCY = 16;
const BODY = 'Your cleaning is on Tuesday at 10am.';

export const sendPipeline: Scenario = {
  id: 'send-pipeline',
  title: 'Send pipeline (POST /v1/messages, sandbox provider)',
  async run(context: ScenarioContext) {
    const { env, repetitions, log } = context;
    const count = Number(context.options['send-pipeline-messages'] ?? (context.quick ? 60 : 300));
    const consentWorker = await env.startWorker('consent', context.tuning);
    const consent = env.consentClient(consentWorker.taskQueue);
    const api = buildApiServer({ consent, client: env.client, pool: env.pool, namespace: env.namespace, taskQueue: consentWorker.taskQueue });
    await api.ready();
    const provider = createSandboxProvider(env.pool);
    const rates: number[] = [];
    const baselineRates: number[] = [];
    const latencies: number[] = [];
    const baselineLatencies: number[] = [];
    const profiles: PhaseProfile[] = [];
    try {
      for (let repetition = 0; repetition < repetitions; repetition++) {
        const contacts = context.phones.take(count);
        await contactsWithConsent(consent, contacts);

        const baselineStarted = performance.now();
        baselineLatencies.push(
          ...(await timedPool(contacts, CLIENT_CONCURRENCY, (to) =>
            provider.send({ idempotencyKey: `bench-provider-${randomUUID()}`, to, from: BUSINESS_NUMBER, body: BODY }),
          )),
        );
        baselineRates.push(count / ((performance.now() - baselineStarted) / 1000));

        const { result, profile } = await profilePhase(env, { consent: consentWorker }, async () => {
          const started = performance.now();
          const durations = await timedPool(contacts, CLIENT_CONCURRENCY, async (to) => {
            const response = await api.inject({
              method: 'POST',
              url: '/v1/messages',
              payload: { to, from: BUSINESS_NUMBER, body: BODY, type: 'transactional', appendDisclosures: true, idempotencyKey: `bench-${randomUUID()}` },
            });
            if (response.statusCode !== 201) throw new Error(`POST /v1/messages answered ${response.statusCode}: ${response.body}`);
          });
          return { durations, seconds: (performance.now() - started) / 1000 };
        });
        latencies.push(...result.durations);
        rates.push(count / result.seconds);
        profiles.push(profile);
        log(`  repetition ${repetition + 1}/${repetitions}: ${rates.at(-1)!.toFixed(1)} messages/s; provider alone ${baselineRates.at(-1)!.toFixed(1)}/s`);
        log(`    CPU: ${describeCpu(profile, { count, what: 'message' })}`);
      }
    } finally {
      await api.close();
      await consentWorker.stop();
    }
    const throughput = summariseThroughput(rates);
    const baselineThroughput = summariseThroughput(baselineRates);
    const latency = summariseLatency(latencies);
    const baselineLatency = summariseLatency(baselineLatencies);
    return {
      id: this.id,
      title: `${this.title}, ${count} messages, ${CLIENT_CONCURRENCY} in flight`,
      figures: [
        {
          label: 'messages sent',
          unit: '/s',
          higherIsBetter: true,
          median: throughput.medianPerSecond,
          p99: throughput.p99PerSecond,
          baseline: { label: 'sandbox provider send alone', median: baselineThroughput.medianPerSecond, p99: baselineThroughput.p99PerSecond },
        },
        {
          label: 'one message, request to answer',
          unit: 'ms',
          higherIsBetter: false,
          median: latency.p50Ms,
          p99: latency.p99Ms,
          baseline: { label: 'sandbox provider send alone', median: baselineLatency.p50Ms, p99: baselineLatency.p99Ms },
        },
      ],
      details: { count, clientConcurrency: CLIENT_CONCURRENCY, rates, baselineRates, profiles },
    };
  },
};
