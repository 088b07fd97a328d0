/**
 * Opt-out propagation: from the moment POST /v1/inbound answers a STOP (the HTTP API in process, Fastify inject) to
 * the first canSend that refuses, one trial at a time on warm contacts that had consent. Baseline: a signal to a
 * warm no-op workflow, then queries until one sees it.
 */
import { randomUUID } from 'node:crypto';
import { buildApiServer } from '../../client/http/server';
import { BUSINESS_NUMBER, contactsWithConsent } from '../fixtures';
import type { Scenario, ScenarioContext } from '../scenario';
import { summariseLatency, timedPool } from '../stats';
import { noopSignal, noopSignalCountQuery, noopWorkflow } from '../workflows';

export const optOutPropagation: Scenario = {
  id: 'propagation',
  title: 'Opt-out propagation (POST /v1/inbound STOP → first refused canSend)',
  async run(context: ScenarioContext) {
    const { env, log } = context;
    const trials = Number(context.options['propagation-trials'] ?? (context.quick ? 50 : 200));
    const consentWorker = await env.startWorker('consent', context.tuning);
    const noopWorker = await env.startWorker('noop', context.tuning);
    const consent = env.consentClient(consentWorker.taskQueue);
    const api = buildApiServer({ consent, client: env.client, pool: env.pool, namespace: env.namespace, taskQueue: consentWorker.taskQueue });
    await api.ready();
    const latencies: number[] = [];
    const baselineLatencies: number[] = [];
    /** canSend calls until the refusal: 1 means the first read after the API answered already refused */
    const readsUntilRefused: number[] = [];
    const readsUntilSeen: number[] = [];
    try {
      const contacts = context.phones.take(trials);
      const noopIds = contacts.map((_, index) => `noop-propagation-${noopWorker.taskQueue}-${index}`);
      await contactsWithConsent(consent, contacts);
      await timedPool(noopIds, 16, async (workflowId) => {
        const handle = await env.client.workflow.start(noopWorkflow, { workflowId, taskQueue: noopWorker.taskQueue, args: [{}] });
        await handle.query(noopSignalCountQuery);
      });

      // Alternate baseline and scenario trial by trial, so a burst of load elsewhere touches both alike.
      for (let trial = 0; trial < trials; trial++) {
        const handle = env.client.workflow.getHandle(noopIds[trial]!);
        await handle.signal(noopSignal, { body: 'STOP' });
        const signalled = performance.now();
        let reads = 0;
        for (;;) {
          reads += 1;
          if ((await handle.query(noopSignalCountQuery)) >= 1) break;
        }
        baselineLatencies.push(performance.now() - signalled);
        readsUntilSeen.push(reads);

        const contact = contacts[trial]!;
        const response = await api.inject({
          method: 'POST',
          url: '/v1/inbound',
          payload: { messageId: `SMprop${randomUUID().replaceAll('-', '')}`, from: contact, to: BUSINESS_NUMBER, body: 'STOP' },
        });
        if (response.statusCode !== 202) throw new Error(`POST /v1/inbound answered ${response.statusCode}: ${response.body}`);
        const answered = performance.now();
        reads = 0;
        for (;;) {
          reads += 1;
          const decision = await consent.canSend(contact, { from: BUSINESS_NUMBER, type: 'promotional' });
          if (!decision.allowed) break;
        }
        latencies.push(performance.now() - answered);
        readsUntilRefused.push(reads);
      }
    } finally {
      await api.close();
      await consentWorker.stop();
      await noopWorker.stop();
    }
    const scenario = summariseLatency(latencies);
    const baseline = summariseLatency(baselineLatencies);
    const firstReadRefused = readsUntilRefused.filter((reads) => reads === 1).length;
    log(`  ${trials} trials: p50 ${scenario.p50Ms.toFixed(1)} ms, p99 ${scenario.p99Ms.toFixed(1)} ms; the first canSend already refused in ${firstReadRefused}/${trials}`);
    return {
      id: this.id,
      title: `${this.title}, ${trials} trials`,
      figures: [
        {
          label: 'STOP answered → first refused canSend',
          unit: 'ms',
          higherIsBetter: false,
          median: scenario.p50Ms,
          p99: scenario.p99Ms,
          baseline: { label: 'signal → first query that sees it (no-op workflow)', median: baseline.p50Ms, p99: baseline.p99Ms },
          target: 'p99 ≤ 1.5×',
        },
      ],
      details: { trials, latencies, baselineLatencies, readsUntilRefused, readsUntilSeen, firstReadRefused },
    };
  },
};
